"""How times, states and distances read on screen (local time, the user's language)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL).strftime("%m-%d %H:%M")


def state_name(app: Any, state: str) -> str:
    return str(app.tr(f"state.{state}"))


def distance(app: Any, metres: float | None) -> str:
    if metres is None:
        return str(app.tr("patrol.distance_unknown"))
    if metres < 1000:
        return str(app.tr("patrol.distance", m=int(round(metres))))
    return str(app.tr("patrol.distance_km", km=metres / 1000))
