"""The app's screens: each ``name.py`` (a :class:`~mobile.screens.base.CgtScreen` subclass
exported as ``SCREEN``) with its ``name.kv`` layout. Screens parse input, call one thing of
``mobile.logic`` (off the main thread through ``app.run_io``) and present the result."""
