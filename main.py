"""Android entry point: python-for-android starts ``main.py`` at the root of ``source.dir``
(see buildozer.spec). On a desktop use ``make app`` or ``python -m mobile.app``."""

from mobile.app import main

if __name__ == "__main__":
    main()
