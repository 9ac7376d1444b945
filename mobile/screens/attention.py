"""Needs attention (需处理): actions the server refused, with its reason; fix and resend, or
discard. Nothing refused is ever dropped without the user deciding."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import StringProperty

from ..logic.location import Location
from ..logic.sync_state import AttentionItem
from .base import CgtScreen
from .pickers import pin

TEXT_FIELDS = ("description", "address", "note", "comment", "reason")


class AttentionScreen(CgtScreen):
    empty = StringProperty("")

    def refresh(self) -> None:
        self.app.run_io(self.core.attention, self._show)

    def _show(self, items: list[AttentionItem]) -> None:
        box = self.ids.item_list
        box.clear_widgets()
        self.empty = "" if items else self.tr("attention.empty")
        for item in items:
            box.add_widget(self._card(item))

    def _card(self, item: AttentionItem) -> Any:
        card = Factory.Card()
        card.add_widget(Factory.Title(text=self.tr(item.title_key)))
        card.add_widget(Factory.Body(text=self.tr("attention.reason", reason=item.reason(
            self.core.tr))))  # fmt: skip
        if item.photo_problem:
            card.add_widget(Factory.Muted(text=self.tr("attention.photo_problem")))
        fields: dict[str, Any] = {}
        for name in item.editable:
            if name in TEXT_FIELDS:
                field = Factory.Field(text=str(item.args.get(name, "")),
                                      hint_text=self.tr(f"report.{name}") if name in (
                                          "description", "address") else self.tr(
                                          "patrol.note_reason"))  # fmt: skip
                fields[name] = field
                card.add_widget(field)
        changes: dict[str, Any] = {}
        if "lat" in item.editable:
            place = Factory.FlatButton(text=self.tr("report.pin"))

            def placed(where: Location) -> None:
                changes.update(lat=where.lat, lon=where.lon, coord_system=where.system.value)
                place.text = f"{where.lat:.5f}, {where.lon:.5f}"

            place.bind(on_release=lambda *_: pin(self.app, placed))
            card.add_widget(place)
        row = Factory.BoxLayout(size_hint_y=None, height=dp(56), spacing=dp(8))
        resend = Factory.BigButton(text=self.tr("attention.resend" if item.editable
                                                else "attention.resend_plain"))  # fmt: skip
        discard = Factory.DangerButton(text=self.tr("attention.discard"))
        resend.bind(on_release=lambda btn: self.resend(item, fields, changes, btn))
        discard.bind(on_release=lambda btn: self.discard(item, btn))
        row.add_widget(resend)
        row.add_widget(discard)
        card.add_widget(row)
        return card

    def resend(self, item: AttentionItem, fields: dict[str, Any], changes: dict[str, Any],
               button: Any) -> None:  # fmt: skip
        edits = {**changes, **{k: w.text for k, w in fields.items()}}
        self.app.run_io(lambda: self.core.resend(item.seq, edits),
                        lambda _: self._after("attention.resent"), button=button)  # fmt: skip

    def discard(self, item: AttentionItem, button: Any) -> None:
        self.app.run_io(lambda: self.core.discard(item.seq),
                        lambda _: self._after("attention.discarded"), button=button)  # fmt: skip

    def _after(self, key: str) -> None:
        self.app.toast(self.tr(key))
        self.refresh()


SCREEN = AttentionScreen
