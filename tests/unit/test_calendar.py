"""Deadlines in working and calendar hours, and the traffic light, under a fixed clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.calendar import WorkCalendar, add_hours, light, step_times, used_share
from shared_models.enums import Light

BJ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.from_config(
    {
        "weekdays": [0, 1, 2, 3, 4],
        "hours": [["08:30", "12:00"], ["14:00", "18:00"]],
        "holidays": ["2026-10-01", "2026-10-02"],  # National Day (Thu, Fri)
        "workdays": ["2026-10-10"],  # a Saturday worked in exchange (调休)
    },
    "Asia/Shanghai",
)


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def test_working_hours_skip_lunch_and_night():
    # Monday 11:00 + 2 working hours: 1 h before lunch, 1 h after → 15:00.
    assert add_hours(CAL, bj(2026, 11, 16, 11, 0), 2, "working") == bj(2026, 11, 16, 15, 0)
    # Monday 17:00 + 2 h → 1 h today, 1 h Tuesday from 08:30 → 09:30.
    assert add_hours(CAL, bj(2026, 11, 16, 17, 0), 2, "working") == bj(2026, 11, 17, 9, 30)


def test_weekend_is_skipped():
    # Friday 17:00 + 2 h → Monday 09:30.
    assert add_hours(CAL, bj(2026, 11, 20, 17, 0), 2, "working") == bj(2026, 11, 23, 9, 30)


def test_report_outside_hours_starts_next_morning():
    # Saturday night report: the clock starts Monday 08:30.
    assert add_hours(CAL, bj(2026, 11, 21, 22, 0), 1, "working") == bj(2026, 11, 23, 9, 30)


def test_holidays_and_makeup_workdays():
    # Wed 30 Sep 17:00 + 2 h: Thu/Fri are holidays, weekend off except Sat 10 Oct... but the
    # next working day is Mon 5 Oct (weekday, not a holiday here) → 09:30.
    assert add_hours(CAL, bj(2026, 9, 30, 17, 0), 2, "working") == bj(2026, 10, 5, 9, 30)
    # Fri 9 Oct 17:00 + 2 h: Saturday 10 Oct is a working day → Sat 09:30.
    assert add_hours(CAL, bj(2026, 10, 9, 17, 0), 2, "working") == bj(2026, 10, 10, 9, 30)


def test_calendar_hours_ignore_the_calendar():
    start = bj(2026, 11, 20, 17, 0)
    assert add_hours(CAL, start, 2, "calendar") == start + timedelta(hours=2)


def test_lights_at_80_and_100_percent():
    start = bj(2026, 11, 16, 8, 30)
    warn, deadline = step_times(CAL, start, 10, "working", 0.8)
    assert warn == bj(2026, 11, 17, 9, 0)  # 8 working hours: 7.5 Monday + 0.5 Tuesday
    assert deadline == bj(2026, 11, 17, 11, 0)
    assert light(warn - timedelta(seconds=1), warn, deadline) is Light.GREEN
    assert light(warn, warn, deadline) is Light.YELLOW
    assert light(deadline, warn, deadline) is Light.RED
    assert light(deadline, None, None) is None
    assert used_share(CAL, "working", start, deadline, warn) == pytest.approx(0.8)


def test_empty_calendar_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar.from_config({"weekdays": [], "hours": [["08:00", "12:00"]]}, "Asia/Shanghai")
    with pytest.raises(ValueError):
        WorkCalendar.from_config({"weekdays": [0], "hours": [["12:00", "08:00"]]}, "Asia/Shanghai")


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.floats(min_value=0.01, max_value=200, allow_nan=False),
)
def test_adding_then_measuring_working_time_round_trips(start, hours):
    end = CAL.add_working(start, hours)
    assert end >= start
    measured = CAL.working_between(start, end).total_seconds() / 3600
    assert measured == pytest.approx(hours, abs=1e-6)
    assert CAL.is_workday(end.astimezone(BJ).date())
