"""Sign-in: phone + SMS code (citizens, merchants) or username + password (staff)."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from .base import CgtScreen


class SignInScreen(CgtScreen):
    mode = StringProperty("phone")  # phone | staff
    resend_in = NumericProperty(0)

    def refresh(self) -> None:
        self.clear_problems()
        self.on_mode(self, self.mode)

    def on_mode(self, _screen: Any, mode: str) -> None:
        if "phone_box" in self.ids:
            self.show(self.ids.phone_box, mode == "phone")
            self.show(self.ids.staff_box, mode == "staff")

    def get_code(self) -> None:
        self.clear_problems()
        phone = self.ids.phone.text
        self.app.run_io(lambda: self.core.request_code(phone), self._code_sent,
                        button=self.ids.get_code, screen=self)  # fmt: skip

    def _code_sent(self, wait: int) -> None:
        self.app.toast(self.tr("signin.code_sent"))
        self.resend_in = max(wait, 1)
        Clock.schedule_interval(self._count_down, 1)
        self.ids.code.focus = True

    def _count_down(self, _dt: float) -> bool:
        self.resend_in = max(0, self.resend_in - 1)
        return self.resend_in > 0

    def submit(self) -> None:
        self.clear_problems()
        if self.mode == "phone":
            phone, code = self.ids.phone.text, self.ids.code.text

            def job() -> Any:
                return self.core.sign_in_phone(phone, code)
        else:
            user, password = self.ids.username.text, self.ids.password.text

            def job() -> Any:
                return self.core.sign_in_staff(user, password)

        self.app.run_io(job, self._signed_in, button=self.ids.submit, screen=self)

    def _signed_in(self, account: Any) -> None:
        self.ids.code.text = ""
        self.ids.password.text = ""
        self.app.toast(self.tr("signin.welcome", name=account.display_name))
        self.app.home()


SCREEN = SignInScreen
