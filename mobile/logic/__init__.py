"""The app's logic in plain classes: no Kivy import anywhere below this package.

Screens call these classes (through :class:`mobile.logic.core.Core`) and present what they
return; tests drive them without a window.
"""
