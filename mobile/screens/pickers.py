"""Asking for a photo or a place, the same way on every screen that needs one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.metrics import dp
from kivy.uix.image import Image

from .. import platform_io
from ..logic.location import Location, from_gps
from ..logic.photo_library import StoredPhoto


def pick_photo(app: Any, done: Callable[[StoredPhoto], None], camera: bool = True) -> None:
    """Camera (Android) or chooser; the picture is copied into the app off the main thread."""

    def got(path: str | None) -> None:
        if path is None:
            return
        app.run_io(lambda: app.core.add_photo(path), lambda p: _added(app, done, p))

    def from_thread(path: str | None) -> None:
        app.post(lambda: got(path))

    if camera and platform_io.has_camera():
        platform_io.take_picture(app.core.folder / "camera", from_thread)
    elif not platform_io.choose_picture(from_thread):
        app.go("chooser", on_pick=got)


def _added(app: Any, done: Callable[[StoredPhoto], None], photo: StoredPhoto) -> None:
    app.toast(app.tr("report.photo_added"))
    done(photo)


def locate(app: Any, done: Callable[[Location], None], centre: Location | None = None) -> None:
    """GPS where there is one; else say so and open the pin map."""

    def ok(lat: float, lon: float, accuracy: float | None) -> None:
        app.post(lambda: done(from_gps(lat, lon, accuracy)))

    def fail() -> None:
        app.post(lambda: (app.toast(app.tr("report.gps_unavailable")), pin(app, done, centre)))

    app.toast(app.tr("report.locating"))
    app.gps.locate(ok, fail)


def pin(app: Any, done: Callable[[Location], None], centre: Location | None = None) -> None:
    app.go("pin", on_pick=done, centre=centre)


def location_text(app: Any, where: Location | None) -> str:
    if where is None:
        return str(app.tr("report.no_location"))
    if where.source == "gps":
        acc = int(where.accuracy_m) if where.accuracy_m is not None else "?"
        return str(app.tr("report.location_gps", lat=where.lat, lon=where.lon, acc=acc))
    system = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}[where.system.value]
    return str(app.tr("report.location_pin", lat=where.lat, lon=where.lon, system=system))


def thumbnails(row: Any, photos: list[StoredPhoto]) -> None:
    """Show the photos as small pictures in a horizontal box."""
    row.clear_widgets()
    for p in photos:
        row.add_widget(Image(source=p.path, size_hint=(None, None), size=(dp(72), dp(72)),
                             fit_mode="cover"))  # fmt: skip
