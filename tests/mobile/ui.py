"""Driving the real app in-process under Xvfb: build it, advance frames, tap widgets with
simulated touches (Kivy's ``UnitTestTouch`` dispatched at the widget's window position)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Driver:
    def __init__(self, home: Path, server_url: str, **core_options: Any) -> None:
        home.mkdir(parents=True, exist_ok=True)
        settings = home / "settings.json"
        doc = json.loads(settings.read_text()) if settings.exists() else {}
        doc["server_url"] = server_url
        settings.write_text(json.dumps(doc))
        from kivy.base import EventLoop

        from mobile.app import CgtApp

        EventLoop.ensure_window()
        self.loop = EventLoop
        self.app = CgtApp(home=home, core_options=core_options)
        self.app._run_prepare()
        self.frames(3)

    # -------------------------------------------------------------- time

    def frames(self, n: int = 1) -> None:
        for _ in range(n):
            self.loop.idle()

    def until(self, check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
        end = time.monotonic() + timeout
        while True:
            self.loop.idle()
            value = check()
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"not within {timeout} s: {what or check}; "
                                     f"screen={self.app.shell.current}, "
                                     f"toast={self.app.toast_text!r}, bar={self.app.bar_text!r}")
            time.sleep(0.01)

    # -------------------------------------------------------------- looking

    @property
    def screen(self) -> Any:
        return self.app.shell.current_screen

    def on(self, name: str, timeout: float = 30.0) -> Any:
        self.until(lambda: self.app.shell.current == name, timeout, f"screen {name}")
        self.frames(2)
        return self.screen

    def ids(self, name: str) -> Any:
        return self.screen.ids[name]

    # -------------------------------------------------------------- touching

    def scroll_to(self, widget: Any) -> None:
        from kivy.uix.scrollview import ScrollView

        parent, seen = widget.parent, set()
        while parent is not None and not isinstance(parent, ScrollView) and id(parent) not in seen:
            seen.add(id(parent))  # the window is its own parent
            parent = parent.parent
        # A RecycleView shows only rows in view (and its class may be loaded twice by Factory).
        recycled = any(c.__name__ == "RecycleView" for c in type(parent).__mro__)
        if isinstance(parent, ScrollView) and not recycled:
            parent.scroll_to(widget, padding=40, animate=False)
            self.frames(2)

    def tap(self, widget: Any) -> None:
        from kivy.tests.common import UnitTestTouch

        def on_screen() -> tuple[float, float] | None:
            # A layout still settling (a thumbnail just added) can move the widget: scroll
            # again until it stands still inside the window.
            self.scroll_to(widget)
            x, y = widget.to_window(*widget.center)
            inside = 0 <= x <= self.app.root.width and 0 <= y <= self.app.root.height
            return (x, y) if inside else None

        x, y = self.until(on_screen, timeout=15, what=f"{widget} on screen")
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(2)

    def tap_id(self, name: str) -> None:
        self.tap(self.ids(name))

    def type(self, name: str, text: str) -> None:
        field = self.ids(name)
        self.tap(field)
        field.text = text
        field.focus = False
        self.frames(1)

    def tap_text(self, text: str, root: Any = None) -> None:
        """Tap the first visible button-like widget showing ``text``."""
        from kivy.uix.behaviors import ButtonBehavior

        for w in (root or self.screen).walk():
            if isinstance(w, ButtonBehavior) and getattr(w, "text", None) == text:
                self.tap(w)
                return
        raise AssertionError(f"no button {text!r} on {self.app.shell.current}")

    def screenshot(self, path: Path) -> None:
        from kivy.core.window import Window

        self.frames(3)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = Window.screenshot(name=str(path))  # Kivy numbers the name: shot0001.png
        Path(saved).replace(path)

    def close(self) -> None:
        from kivy.clock import Clock

        self.app.stop()
        for event in Clock.get_events():  # the next test starts with a clean clock
            event.cancel()
        self.frames(1)
