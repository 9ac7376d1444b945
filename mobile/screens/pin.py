"""Place a pin on a schematic map when there is no GPS: a plain grid in metres around the last
known place (no map tiles: public maps in China need approval), tap to move the pin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.widget import Widget

from ..logic.location import Location, PinMap
from .base import CgtScreen

GRID_PX = 50  # one grid square on screen


class PinCanvas(Widget):
    """Draws the grid and the pin; a tap moves the pin there."""

    dx = NumericProperty(0.0)  # pin, pixels east of the centre
    dy = NumericProperty(0.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self.draw, size=self.draw, dx=self.draw, dy=self.draw)

    def draw(self, *_: Any) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(0.93, 0.95, 0.92, 1)
            from kivy.graphics import Rectangle

            Rectangle(pos=self.pos, size=self.size)
            Color(0.8, 0.84, 0.8, 1)
            step = dp(GRID_PX)
            x = self.center_x % step + self.x - self.x % step
            while x < self.right:
                Line(points=[x, self.y, x, self.top])
                x += step
            y = self.center_y % step + self.y - self.y % step
            while y < self.top:
                Line(points=[self.x, y, self.right, y])
                y += step
            Color(0.5, 0.55, 0.6, 1)
            Line(circle=(self.center_x, self.center_y, dp(6)))
            px, py = self.center_x + self.dx, self.center_y + self.dy
            Color(0.85, 0.16, 0.16, 1)
            Ellipse(pos=(px - dp(9), py - dp(9)), size=(dp(18), dp(18)))
            Line(points=[px, py, px, py + dp(26)], width=dp(2))

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos):
            return False
        self.dx, self.dy = touch.x - self.center_x, touch.y - self.center_y
        return True


class PinScreen(CgtScreen):
    hint = StringProperty("")

    def prepare(self, on_pick: Callable[[Location], None] | None = None,
                centre: Location | None = None, **kwargs: Any) -> None:  # fmt: skip
        self.on_pick = on_pick
        lat, lon = centre.wgs84() if centre else self.core.settings.current.map_centre
        self.map = PinMap(lat, lon, metres_per_px=1.0)
        self.ids.canvas.dx = self.ids.canvas.dy = 0.0
        self._update_hint()

    def _update_hint(self) -> None:
        self.hint = self.tr("pin.hint", m=int(GRID_PX * self.map.scale))

    def zoom(self, factor: float) -> None:
        self.map.zoom(factor)
        self._update_hint()

    def use(self) -> None:
        canvas = self.ids.canvas
        where = self.map.pin(canvas.dx / dp(1), canvas.dy / dp(1))
        self.core.settings.set_map_centre(*where.wgs84())
        callback, self.on_pick = self.on_pick, None
        self.app.back()
        if callback is not None:
            callback(where)


SCREEN = PinScreen
