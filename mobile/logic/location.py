"""Where a problem is: a position with the coordinate system it was taken in.

Phone GPS gives WGS-84; a point picked on a Chinese map (Amap, Tencent) is GCJ-02. The system
is stored with every coordinate and sent with the report; conversion happens at the edges
(``shared_models.geo``): the server stores WGS-84, and a navigation link for Amap gets GCJ-02.

When GPS is off or not available (a desktop), the user places a pin on a schematic map
(:class:`PinMap`: metres on a plain grid around a known centre, no map tiles) and may add an
address in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

from shared_models.enums import CoordSystem
from shared_models.geo import EARTH_RADIUS_M, distance_m, from_wgs84, to_wgs84, valid_lat_lon


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    system: CoordSystem = CoordSystem.WGS84
    source: str = "gps"  # gps | pin
    accuracy_m: float | None = None

    def wgs84(self) -> tuple[float, float]:
        return to_wgs84(self.lat, self.lon, self.system)

    def gcj02(self) -> tuple[float, float]:
        return from_wgs84(*self.wgs84(), CoordSystem.GCJ02)

    def distance_to(self, lat: float, lon: float) -> float:
        """Metres to a WGS-84 point (server records are WGS-84)."""
        here = self.wgs84()
        return distance_m(here[0], here[1], lat, lon)

    @property
    def valid(self) -> bool:
        return valid_lat_lon(self.lat, self.lon)


def from_gps(lat: float, lon: float, accuracy_m: float | None = None) -> Location:
    return Location(lat, lon, CoordSystem.WGS84, "gps", accuracy_m)


def amap_link(lat: float, lon: float, name: str = "") -> str:
    """A link that opens Amap (高德) at a WGS-84 point: Amap wants GCJ-02, lon first."""
    glat, glon = from_wgs84(lat, lon, CoordSystem.GCJ02)
    return (
        f"https://uri.amap.com/marker?position={glon:.6f},{glat:.6f}"
        f"&name={quote(name)}&coordinate=gaode&callnative=1"
    )


class PinMap:
    """A schematic map for placing a pin: a centre and a scale, in metres per pixel."""

    def __init__(self, centre_lat: float, centre_lon: float, metres_per_px: float = 1.0) -> None:
        self.lat, self.lon, self.scale = centre_lat, centre_lon, metres_per_px

    def point_at(self, dx_px: float, dy_px: float) -> tuple[float, float]:
        """The WGS-84 point ``dx`` pixels east and ``dy`` pixels north of the centre."""
        north, east = dy_px * self.scale, dx_px * self.scale
        dlat = math.degrees(north / EARTH_RADIUS_M)
        dlon = math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(self.lat))))
        return self.lat + dlat, self.lon + dlon

    def offset_of(self, lat: float, lon: float) -> tuple[float, float]:
        """Pixels east and north of the centre where a WGS-84 point lies."""
        north = math.radians(lat - self.lat) * EARTH_RADIUS_M
        east = math.radians(lon - self.lon) * EARTH_RADIUS_M * math.cos(math.radians(self.lat))
        return east / self.scale, north / self.scale

    def pin(self, dx_px: float, dy_px: float) -> Location:
        lat, lon = self.point_at(dx_px, dy_px)
        return Location(lat, lon, CoordSystem.WGS84, "pin")

    def zoom(self, factor: float) -> None:
        self.scale = min(50.0, max(0.25, self.scale / factor))

    def recentre(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon
