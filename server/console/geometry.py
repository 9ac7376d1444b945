"""Schematic maps drawn from the city's own grid (no map tiles: offices are offline, and
public maps in China need an approval number). Pure geometry: WGS-84 in, SVG coordinates out.

An equirectangular projection scaled by cos(latitude) is exact enough for a city a few tens
of kilometres wide, and keeps grid cells rectangular as they are stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Frame:
    """Maps WGS-84 points inside a bounding box onto an SVG canvas ``width`` wide."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    width: float
    height: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = (lon - self.min_lon) / (self.max_lon - self.min_lon) * self.width
        y = (self.max_lat - lat) / (self.max_lat - self.min_lat) * self.height
        return round(x, 1), round(y, 1)

    def points(self, shape: Iterable[LatLon]) -> str:
        """An SVG ``points`` attribute for a polygon."""
        return " ".join(f"{x},{y}" for x, y in (self.xy(lat, lon) for lat, lon in shape))


def frame_around(
    boxes: Iterable[tuple[float, float, float, float]], width: float = 640, pad: float = 0.03
) -> Frame:
    """The frame that holds every (min_lat, min_lon, max_lat, max_lon) box, with a margin."""
    boxes = list(boxes)
    if not boxes:
        raise ValueError("nothing to frame")
    min_lat = min(b[0] for b in boxes)
    min_lon = min(b[1] for b in boxes)
    max_lat = max(b[2] for b in boxes)
    max_lon = max(b[3] for b in boxes)
    dlat = max(max_lat - min_lat, 1e-4) * pad
    dlon = max(max_lon - min_lon, 1e-4) * pad
    min_lat, max_lat, min_lon, max_lon = (
        min_lat - dlat,
        max_lat + dlat,
        min_lon - dlon,
        max_lon + dlon,
    )
    ground_w = (max_lon - min_lon) * math.cos(math.radians((min_lat + max_lat) / 2))
    ground_h = max_lat - min_lat
    return Frame(min_lat, min_lon, max_lat, max_lon, width, round(width * ground_h / ground_w, 1))


def box_shape(min_lat: float, min_lon: float, max_lat: float, max_lon: float) -> list[LatLon]:
    return [(min_lat, min_lon), (max_lat, min_lon), (max_lat, max_lon), (min_lat, max_lon)]


def shape_of(
    box: tuple[float, float, float, float], polygon: Sequence[Sequence[float]] | None
) -> list[LatLon]:
    """A grid cell's outline: its exact polygon when stored, else its bounding box."""
    if polygon:
        return [(float(p[0]), float(p[1])) for p in polygon]
    return box_shape(*box)


def shade(count: int, most: int) -> float:
    """Fill opacity for a cell with ``count`` open cases when the busiest has ``most``."""
    if count <= 0 or most <= 0:
        return 0.0
    return round(0.15 + 0.7 * math.sqrt(count / most), 2)
