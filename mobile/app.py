"""The 城管通 app's shell: window, font, translations, the always-visible sync bar, the screen
stack and feedback (toasts, busy buttons). Screens live in ``mobile/screens`` as ``name.py`` +
``name.kv`` pairs and only present what ``mobile.logic`` returns.

    python -m mobile.app            # desktop window 400×800 against CGT_SERVER / settings

Adding a journey: write ``screens/<name>.py`` (a ``CgtScreen`` subclass) and ``<name>.kv``, and
list the name in ``SCREENS``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_NO_ARGS", "1")

from kivy.config import Config  # noqa: E402

if "kivy.core.window" not in sys.modules:  # size the window before it opens
    Config.set("graphics", "width", os.environ.get("CGT_WINDOW_WIDTH", "400"))
    Config.set("graphics", "height", os.environ.get("CGT_WINDOW_HEIGHT", "800"))
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    Config.set("kivy", "exit_on_escape", "0")

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.text import DEFAULT_FONT, LabelBase  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty  # noqa: E402
from kivy.uix.screenmanager import NoTransition, ScreenManager  # noqa: E402
from kivy.utils import platform  # noqa: E402

from . import platform_io  # noqa: E402
from .logic.core import Core  # noqa: E402
from .logic.errors import AppError, FormInvalid  # noqa: E402
from .logic.fonts import NO_FONT_MESSAGE, find_cjk_font  # noqa: E402
from .logic.sync_state import SyncState, bar_text, is_stale  # noqa: E402

log = logging.getLogger("cgt.app")
HERE = Path(__file__).resolve().parent
SCREENS = ("signin", "citizen_home", "report", "categories", "pin", "chooser", "my_reports",
           "report_detail", "patrol", "task", "attention", "settings")  # fmt: skip
TICK_SECONDS = 0.5


def use_cjk_font() -> str | None:
    """Make a Chinese-capable font Kivy's default; None (and a clear log line) if none."""
    path = find_cjk_font(platform)
    if path is None:
        log.error(NO_FONT_MESSAGE)
        print(NO_FONT_MESSAGE, file=sys.stderr)
        return None
    LabelBase.register(DEFAULT_FONT, path)
    return path


class Shell(ScreenManager):
    """The screen stack (the sync bar and toast sit around it in ``app.kv``)."""


class CgtApp(App):
    title = "城管通"
    lang = StringProperty("zh")  # kv rules pass it to tr() so they re-read on a change
    bar_text = StringProperty("")
    bar_badge = StringProperty("")
    bar_warn = BooleanProperty(False)
    toast_text = StringProperty("")
    font_missing = BooleanProperty(False)
    core: Core = ObjectProperty(None, allownone=True)  # type: ignore[assignment]

    def __init__(self, home: str | Path | None = None, core_options: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self._home = home
        self._core_options = core_options or {}
        self._history: list[str] = []
        self._toast_event: Any = None
        self._stopped = False
        self.gps = platform_io.Gps()

    # -------------------------------------------------------------- start

    def build(self) -> Any:
        self.font_missing = use_cjk_font() is None
        folder = Path(self._home or os.environ.get("CGT_APP_HOME") or self.user_data_dir)
        self.core = Core(folder, post=self.post, **self._core_options)
        if os.environ.get("CGT_SERVER"):  # `make app SERVER=...` wins over the saved address
            self.core.set_server(os.environ["CGT_SERVER"])
        self.lang = self.core.tr.language
        self.core.listeners.append(self._on_sync_state)
        self.core.data_listeners.append(self._on_data)
        Window.clearcolor = (0.953, 0.957, 0.965, 1)
        Builder.load_file(str(HERE / "screens" / "widgets.kv"))
        root = Builder.load_file(str(HERE / "screens" / "root.kv"))
        self.shell: Shell = root.ids.shell
        self.shell.transition = NoTransition()
        self._on_sync_state(self.core.state)
        self.go(self.core.home(), remember=False)
        Clock.schedule_interval(self._tick, TICK_SECONDS)
        return root

    def on_start(self) -> None:
        Clock.schedule_once(lambda _dt: None if self._stopped else self.core.warm_up(), 0.5)
        platform_io.request_permissions()
        if self.font_missing:
            self.toast(NO_FONT_MESSAGE, seconds=10)

    def on_stop(self) -> None:
        if self._stopped:  # App.stop() and the end of App.run() both dispatch on_stop
            return
        self._stopped = True  # callbacks still queued on the clock find the app gone
        Clock.unschedule(self._tick)
        if self.core is not None:
            self.core.listeners.clear()
            self.core.data_listeners.clear()
            self.core.close()

    def screen(self, name: str) -> Any:
        if not self.shell.has_screen(name):
            module = importlib.import_module(f"mobile.screens.{name}")
            Builder.load_file(str(HERE / "screens" / f"{name}.kv"))
            self.shell.add_widget(module.SCREEN(name=name))
        return self.shell.get_screen(name)

    # -------------------------------------------------------------- words

    def tr(self, key: str, *_lang: Any, **params: Any) -> str:
        return self.core.tr(key, **params) if self.core else key

    def error_text(self, error: BaseException) -> str:
        if isinstance(error, AppError):
            return error.text(self.core.tr)
        log.exception("unexpected error", exc_info=error)
        return self.tr("error.generic")

    def set_language(self, language: str) -> None:
        self.core.set_language(language)
        self.lang = language
        self._on_sync_state(self.core.state)

    # -------------------------------------------------------------- navigation

    def go(self, name: str, remember: bool = True, **kwargs: Any) -> Any:
        screen = self.screen(name)
        if remember and self.shell.current and self.shell.current != name:
            self._history.append(self.shell.current)
        screen.prepare(**kwargs)
        self.shell.current = name
        return screen

    def back(self) -> None:
        target = self._history.pop() if self._history else self.core.home()
        self.screen(target)
        self.shell.current = target

    def home(self) -> None:
        self._history.clear()
        self.go(self.core.home(), remember=False)

    # -------------------------------------------------------------- work off the main thread

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread at the next frame (safe to call from any thread)."""
        Clock.schedule_once(lambda _dt: None if self._stopped else fn(), 0)

    def run_io(self, job: Callable[[], Any], done: Callable[[Any], None] | None = None,
               button: Any = None, screen: Any = None, net: bool = False) -> None:  # fmt: skip
        """Run ``job`` on the I/O (or network) thread; the button shows it is busy meanwhile,
        form problems go back to ``screen.show_problems``, other errors to a toast."""
        label = getattr(button, "text", None)
        if button is not None:
            button.disabled = True
            button.text = self.tr("common.working")

        def finish() -> None:
            if button is not None:
                button.disabled = False
                button.text = label

        def ok(result: Any) -> None:
            finish()
            if done is not None:
                done(result)

        def failed(error: BaseException) -> None:
            finish()
            if isinstance(error, FormInvalid) and screen is not None:
                screen.show_problems(error.fields)
                self.toast(self.tr("form.fix_fields"))
            else:
                self.toast(self.error_text(error))

        (self.core.net if net else self.core.io).submit(job, ok, failed)

    def toast(self, text: str, seconds: float = 3.0) -> None:
        self.toast_text = text
        if self._toast_event is not None:
            self._toast_event.cancel()
        self._toast_event = Clock.schedule_once(lambda _dt: self.hide_toast(), seconds)

    def hide_toast(self) -> None:
        self.toast_text = ""

    # -------------------------------------------------------------- sync bar

    def _tick(self, _dt: float) -> None:
        self.core.tick()
        self._on_sync_state(self.core.state)

    def _on_sync_state(self, state: SyncState) -> None:
        now = self.core.clock()
        if self.core.device is None:
            self.bar_text, self.bar_badge, self.bar_warn = self.tr("sync.not_signed_in"), "", False
            return
        self.bar_text = bar_text(self.core.tr, state, now)
        self.bar_badge = self.tr("sync.attention_badge", n=state.attention) if state.attention \
            else ""  # fmt: skip
        self.bar_warn = state.online is False or is_stale(state, now) or state.update_required

    def _on_data(self) -> None:
        current = self.shell.current_screen
        if current is not None and hasattr(current, "synced"):
            current.synced()

    def open_attention(self) -> None:
        if self.core.device is not None:
            self.go("attention")


def main() -> None:
    CgtApp().run()


if __name__ == "__main__":
    main()
