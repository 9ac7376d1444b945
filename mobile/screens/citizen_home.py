"""The citizen's home: report a problem, follow my reports."""

from __future__ import annotations

from kivy.properties import StringProperty

from .base import CgtScreen


class CitizenHomeScreen(CgtScreen):
    hello = StringProperty("")

    def refresh(self) -> None:
        account = self.core.account
        self.hello = self.tr("home.hello", name=account.display_name) if account else ""


SCREEN = CitizenHomeScreen
