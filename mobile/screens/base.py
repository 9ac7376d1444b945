"""What every screen shares: access to the app and core, arguments on entry, field errors."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.screenmanager import Screen


class CgtScreen(Screen):
    def prepare(self, **kwargs: Any) -> None:
        """Arguments for this visit (``app.go(name, **kwargs)``), before it is shown."""

    def on_pre_enter(self, *args: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Reload what the screen shows, when it is entered."""

    def synced(self) -> None:
        """A sync brought changes: reload what comes from the store (by default, all)."""
        self.refresh()

    @property
    def app(self) -> Any:
        return App.get_running_app()

    @property
    def core(self) -> Any:
        return self.app.core

    def tr(self, key: str, **params: Any) -> str:
        return str(self.app.tr(key, **params))

    def show(self, widget: Any, visible: bool) -> None:
        """Put a widget in its place or take it out (hidden widgets must not catch touches)."""
        widget = getattr(widget, "__self__", widget)  # ids are weak: keep the widget alive
        slots: dict[Any, tuple[Any, int]] = self.__dict__.setdefault("_slots", {})
        if widget not in slots:
            parent = widget.parent
            slots[widget] = (parent, len(parent.children) - parent.children.index(widget) - 1)
        parent, order = slots[widget]
        if not visible:
            if widget.parent is not None:
                parent.remove_widget(widget)
            return
        if widget.parent is not None:
            return
        before = sum(1 for w, (p, o) in slots.items() if p is parent and o < order
                     and w.parent is None)  # fmt: skip
        position = order - before  # index among the children in layout order
        kivy_index = len(parent.children) - position
        parent.add_widget(widget, index=max(0, kivy_index))

    def show_problems(self, fields: dict[str, str]) -> None:
        """Put each field's problem under it (``ids.<field>_error``), clear the others."""
        for name, widget in self.ids.items():
            if name.endswith("_error"):
                key = fields.get(name[: -len("_error")])
                widget.text = self.tr(key) if key else ""

    def clear_problems(self) -> None:
        self.show_problems({})
