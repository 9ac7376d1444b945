"""My reports: every report with its state and deadline, newest first; tap for details."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from shared_models.enums import FINAL_STATES

from .base import CgtScreen
from .formatting import state_name, when


class ReportRowView(ButtonBehavior, BoxLayout):
    case_id = StringProperty("")
    title = StringProperty("")
    state = StringProperty("")
    state_text = StringProperty("")
    detail = StringProperty("")
    light = StringProperty("")
    screen = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.screen is not None:
            self.screen.open(self.case_id)


class MyReportsScreen(CgtScreen):
    empty = StringProperty("")

    def refresh(self) -> None:
        self.app.run_io(lambda: self.core.my_reports().rows(), self._show)

    def _show(self, rows: list[Any]) -> None:
        app, tr = self.app, self.core.tr
        data = []
        for r in rows:
            title = tr.pick(r.category_name, r.category_name_en) or \
                self.core.catalogue().name_of(tr, r.category_code)  # fmt: skip
            bits = [when(r.created_at) or self.tr("reports.sent" if r.sent else "reports.waiting")]
            if r.deadline and r.state not in FINAL_STATES:
                bits.append(self.tr("reports.deadline", when=when(r.deadline)))
            if r.pending and not r.waiting:
                bits.append(self.tr("reports.sent_action" if r.sent else "reports.pending_action"))
            data.append({"case_id": r.id, "title": title, "state": r.state,
                         "state_text": state_name(app, r.state), "detail": " · ".join(bits),
                         "light": r.light or "", "screen": self})  # fmt: skip
        self.ids.rows.data = data
        self.empty = "" if rows else self.tr("reports.empty")

    def open(self, case_id: str) -> None:
        self.app.go("report_detail", case_id=case_id)


SCREEN = MyReportsScreen
