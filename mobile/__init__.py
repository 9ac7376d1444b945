"""城管通 phone app (Kivy). ``mobile.logic`` holds everything testable without a window;
``mobile.app`` and ``mobile.screens`` only present it."""
