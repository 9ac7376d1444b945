"""Deadlines (时限) in working hours (工作时) or calendar hours (自然时), and traffic lights.

A working calendar has weekly working days, daily working intervals (e.g. 08:30–12:00 and
14:00–18:00), public holidays that fall on weekdays, and weekend days that are worked
(调休). All instants in and out are aware datetimes; arithmetic happens in the city's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared_models.enums import Light, TimeUnit

MAX_DAYS = 3700  # search horizon; a calendar with no working time fails loudly instead


def _parse_time(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    weekdays: frozenset[int]
    intervals: tuple[tuple[time, time], ...]
    holidays: frozenset[date]
    workdays: frozenset[date]

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], tz: str) -> WorkCalendar:
        intervals = tuple(sorted((_parse_time(a), _parse_time(b)) for a, b in cfg["hours"]))
        for start, end in intervals:
            if not start < end:
                raise ValueError(f"working interval {start}–{end} is empty")
        cal = cls(
            tz=ZoneInfo(tz),
            weekdays=frozenset(int(d) for d in cfg["weekdays"]),
            intervals=intervals,
            holidays=frozenset(date.fromisoformat(d) for d in cfg.get("holidays", [])),
            workdays=frozenset(date.fromisoformat(d) for d in cfg.get("workdays", [])),
        )
        if not intervals or (not cal.weekdays and not cal.workdays):
            raise ValueError("the working calendar has no working time")
        return cal

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def _periods_from(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        """Working periods (aware, city zone) from ``day`` on, in order."""
        for offset in range(MAX_DAYS):
            d = day + timedelta(days=offset)
            if not self.is_workday(d):
                continue
            for start, end in self.intervals:
                yield (
                    datetime.combine(d, start, tzinfo=self.tz),
                    datetime.combine(d, end, tzinfo=self.tz),
                )
        raise ValueError("no working time within the calendar's horizon")

    def add_working(self, start: datetime, hours: float) -> datetime:
        """The instant when ``hours`` of working time have passed since ``start``."""
        local = start.astimezone(self.tz)
        remaining = timedelta(hours=hours)
        if remaining <= timedelta(0):
            return start
        for p_start, p_end in self._periods_from(local.date()):
            if p_end <= local:
                continue
            begin = max(p_start, local)
            span = p_end - begin
            if remaining <= span:
                return (begin + remaining).astimezone(UTC)
            remaining -= span
        raise AssertionError("unreachable")  # pragma: no cover

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed between two instants (zero if ``end`` ≤ ``start``)."""
        if end <= start:
            return timedelta(0)
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta(0)
        for p_start, p_end in self._periods_from(local_start.date()):
            if p_start >= local_end:
                break
            lo, hi = max(p_start, local_start), min(p_end, local_end)
            if hi > lo:
                total += hi - lo
        return total


def add_hours(cal: WorkCalendar, start: datetime, hours: float, unit: TimeUnit | str) -> datetime:
    if TimeUnit(unit) is TimeUnit.CALENDAR:
        return start + timedelta(hours=hours)
    return cal.add_working(start, hours)


def step_times(
    cal: WorkCalendar, start: datetime, hours: float, unit: TimeUnit | str, warn_share: float
) -> tuple[datetime, datetime]:
    """(warn_at, deadline) of a step: yellow from ``warn_share`` of the time, red after."""
    return add_hours(cal, start, hours * warn_share, unit), add_hours(cal, start, hours, unit)


def light(now: datetime, warn_at: datetime | None, deadline: datetime | None) -> Light | None:
    """Traffic light of an open step; ``None`` for a case with no running step."""
    if deadline is None:
        return None
    if now >= deadline:
        return Light.RED
    if warn_at is not None and now >= warn_at:
        return Light.YELLOW
    return Light.GREEN


def used_share(
    cal: WorkCalendar, unit: TimeUnit | str, start: datetime, deadline: datetime, now: datetime
) -> float:
    """Share of the step's time used so far (1.0 = deadline reached)."""
    if TimeUnit(unit) is TimeUnit.CALENDAR:
        total, used = deadline - start, now - start
    else:
        total, used = cal.working_between(start, deadline), cal.working_between(start, now)
    return used / total if total > timedelta(0) else 1.0
