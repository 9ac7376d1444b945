"""Choose a picture file on a desktop (phones use the camera or their gallery via plyer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import CgtScreen


class ChooserScreen(CgtScreen):
    def prepare(self, on_pick: Callable[[str | None], None] | None = None, **kwargs: Any) -> None:
        self.on_pick = on_pick
        start = os.environ.get("CGT_PHOTO_DIR") or str(Path.home() / "Pictures")
        self.ids.files.path = start if Path(start).is_dir() else str(Path.home())

    def choose(self, selection: list[str]) -> None:
        if not selection:
            return
        callback, self.on_pick = self.on_pick, None
        self.app.back()
        if callback is not None:
            callback(selection[0])


SCREEN = ChooserScreen
