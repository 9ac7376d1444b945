"""The phone's hardware through plyer, with the desktop fallbacks: camera (file chooser on a
desktop), GPS (a pin on the schematic map where there is none), Android permissions.

Kept apart from the screens so a screen asks for "a photo" or "a position" and never cares
which platform answers. Callbacks may arrive on another thread; callers post them to the UI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from kivy.utils import platform

log = logging.getLogger("cgt.platform")
ANDROID = platform == "android"
PERMISSIONS = (
    "CAMERA",
    "ACCESS_FINE_LOCATION",
    "ACCESS_COARSE_LOCATION",
    "READ_MEDIA_IMAGES",
    "READ_EXTERNAL_STORAGE",
)


def request_permissions() -> None:
    """Ask once at start on Android (camera, location, pictures); a no-op elsewhere."""
    if not ANDROID:
        return
    from android.permissions import Permission, request_permissions  # type: ignore

    request_permissions([getattr(Permission, p) for p in PERMISSIONS if hasattr(Permission, p)])


def has_camera() -> bool:
    return ANDROID


def take_picture(folder: Path, done: Callable[[str | None], None]) -> None:
    """Open the phone's camera; ``done(path)`` with the picture, or ``done(None)``."""
    from plyer import camera

    path = folder / f"camera-{int(time.time() * 1000)}.jpg"
    folder.mkdir(parents=True, exist_ok=True)

    def complete(filename: str) -> bool:
        done(filename if filename and Path(filename).exists() else None)
        return False  # keep the file: the photo library copies it by content

    try:
        camera.take_picture(filename=str(path), on_complete=complete)
    except (NotImplementedError, Exception) as error:  # noqa: BLE001 - no camera here
        log.warning("camera unavailable: %r", error)
        done(None)


def choose_picture(done: Callable[[str | None], None]) -> bool:
    """The phone's gallery through plyer; False where plyer has none (use the Kivy chooser)."""
    if not ANDROID:
        return False
    from plyer import filechooser

    def chosen(selection: list[str] | None) -> None:
        done(selection[0] if selection else None)

    filechooser.open_file(on_selection=chosen, filters=["*.jpg", "*.jpeg", "*.png", "*.webp"])
    return True


class Gps:
    """One GPS fix at a time: ``locate(ok, fail)``; ``fail()`` where there is no GPS."""

    def __init__(self) -> None:
        self._ok: Callable[[float, float, float | None], None] | None = None
        self._configured = False

    def locate(self, ok: Callable[[float, float, float | None], None],
               fail: Callable[[], None]) -> None:  # fmt: skip
        if not ANDROID:
            fail()  # desktop: plyer has no GPS provider here
            return
        from plyer import gps

        self._ok = ok
        try:
            if not self._configured:
                gps.configure(on_location=self._on_location, on_status=lambda *a: None)
                self._configured = True
            gps.start(minTime=1000, minDistance=0)
        except (NotImplementedError, Exception) as error:  # noqa: BLE001
            log.warning("gps unavailable: %r", error)
            fail()

    def _on_location(self, **kwargs: float) -> None:
        from plyer import gps

        ok, self._ok = self._ok, None
        gps.stop()
        if ok is not None:
            ok(float(kwargs["lat"]), float(kwargs["lon"]), kwargs.get("accuracy"))
