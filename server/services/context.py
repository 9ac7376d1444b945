"""The settings a case use case needs, resolved once per request from the app config."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain.calendar import WorkCalendar


@dataclass(frozen=True)
class CaseContext:
    now: datetime
    calendar: WorkCalendar
    warn_share: float = 0.8
    duplicate_radius_m: float = 50.0
    rating_window: timedelta = timedelta(days=15)
    reopen_window: timedelta = timedelta(days=7)


def build(config: dict[str, Any], now: datetime, calendar: WorkCalendar) -> CaseContext:
    return CaseContext(
        now=now,
        calendar=calendar,
        warn_share=config["WARN_SHARE"],
        duplicate_radius_m=config["DUPLICATE_RADIUS_M"],
        rating_window=timedelta(days=config["RATING_WINDOW_DAYS"]),
        reopen_window=timedelta(days=config["REOPEN_WINDOW_DAYS"]),
    )
