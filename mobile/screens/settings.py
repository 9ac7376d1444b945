"""Settings: server address, language, sync now, sign out."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from .base import CgtScreen


class SettingsScreen(CgtScreen):
    account_text = StringProperty("")

    def refresh(self) -> None:
        self.ids.server.text = self.core.settings.current.server_url
        account = self.core.account
        self.account_text = ""
        if account is not None:
            role = self.tr(f"role.{account.role}")
            self.account_text = self.tr("settings.signed_in_as", name=account.display_name,
                                        role=role)  # fmt: skip
        self.show(self.ids.account_box, account is not None)
        self.clear_problems()

    def save_server(self) -> None:
        url = self.ids.server.text
        self.app.run_io(lambda: self.core.set_server(url),
                        lambda _: self.app.toast(self.tr("settings.server_saved")),
                        button=self.ids.save_server, screen=self)  # fmt: skip

    def language(self, lang: str) -> None:
        self.app.set_language(lang)
        self.refresh()

    def sync_now(self) -> None:
        self.core.sync_now()
        self.app.toast(self.tr("sync.syncing"))

    def sign_out(self) -> None:
        waiting = self.core.state.waiting
        button = self.ids.sign_out
        if waiting and button.text != self.tr("settings.sign_out_waiting", n=waiting):
            button.text = self.tr("settings.sign_out_waiting", n=waiting)  # tap again to confirm
            return
        self.app.run_io(self.core.sign_out, self._signed_out, button=button)

    def _signed_out(self, _: Any) -> None:
        self.ids.sign_out.text = self.tr("settings.sign_out")
        self.app.home()


SCREEN = SettingsScreen
