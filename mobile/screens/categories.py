"""Pick a category: type a name or everyday words ("垃圾", "井盖坏了", "摆摊"), tap one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from ..logic.categories import Choice
from .base import CgtScreen


class CategoryRow(ButtonBehavior, BoxLayout):
    code = StringProperty("")
    label = StringProperty("")
    group = StringProperty("")
    screen: Any = None

    def on_release(self) -> None:
        if self.screen is not None:
            self.screen.pick(self.code)


class CategoriesScreen(CgtScreen):
    empty = StringProperty("")

    def prepare(self, on_pick: Callable[[Choice], None] | None = None, **kwargs: Any) -> None:
        self.on_pick = on_pick
        self.ids.query.text = ""

    def refresh(self) -> None:
        self.search(self.ids.query.text)

    def search(self, text: str) -> None:
        tr = self.core.tr
        found = self.core.catalogue().find(text)
        self.ids.results.data = [
            {"code": c.code, "label": c.label(tr), "group": f"{c.group(tr)} · {c.code}",
             "screen": self}  # fmt: skip
            for c in found
        ]
        self.empty = "" if found else self.tr("categories.none")

    def pick(self, code: str) -> None:
        choice = self.core.catalogue().get(code)
        if choice is None:
            return
        callback, self.on_pick = self.on_pick, None
        self.app.back()
        if callback is not None:
            callback(choice)


SCREEN = CategoriesScreen
