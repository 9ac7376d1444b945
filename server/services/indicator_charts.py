"""Chart data for the command centre: cases per day by source, on-time rates per department,
the traffic-light mix of open cases, open cases on the map, 督办 per unit.

Every series is one aggregate query (or one bounded page of points for the map).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared_models.enums import CaseSource, CaseState, Light

from ..domain.indicators import Dimension, Period
from ..models import Case, Department, GridCell, Supervision
from .indicators import Report
from .visibility import superseded_clause

MAP_POINTS_MAX = 5000
COMMAND_CENTRE = ("指挥中心（未派遣）", "Command centre (not dispatched)")


def _local_day(s: Session, col: Any, tz: ZoneInfo, period: Period) -> ColumnElement[Any]:
    """The local calendar day of a stored UTC instant, computed by the database.

    Uses the zone's offset at the start of the period (China has no daylight saving time).
    """
    offset = tz.utcoffset(datetime.combine(period.start, time(12)))
    seconds = int(offset.total_seconds()) if offset else 0
    if s.get_bind().dialect.name == "sqlite":
        return func.date(col, f"{seconds:+d} seconds")
    return func.date(col + literal_column(f"INTERVAL '{seconds} seconds'"))


def _iso(day: Any) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


@dataclass
class DailySeries:
    days: list[str]
    series: dict[str, list[int]]  # source → count per day

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())


def cases_per_day(s: Session, period: Period, tz: ZoneInfo) -> DailySeries:
    """New cases (merged duplicates left out) per local day and source."""
    start, end = period.bounds(tz)
    day = _local_day(s, Case.created_at, tz, period).label("day")
    stmt = (
        select(day, Case.source, func.count())
        .where(Case.created_at >= start, Case.created_at < end)
        .where(Case.state != CaseState.MERGED.value)
        .group_by(day, Case.source)
    )
    days = [d.isoformat() for d in period.days()]
    index = {d: i for i, d in enumerate(days)}
    series = {src.value: [0] * len(days) for src in CaseSource}
    for d, source, n in s.execute(stmt):
        i = index.get(_iso(d))
        if i is not None:
            series.setdefault(source, [0] * len(days))[i] += n
    return DailySeries(days, series)


@dataclass
class UnitRates:
    key: str
    name: str
    name_en: str
    rates: dict[str, float | None]
    counts: dict[str, int]


def on_time_by_department(report: Report) -> list[UnitRates]:
    """The department breakdown as a compact chart series (按时处置率, 结案率, 返工率, 满意率)."""
    assert report.dimension is Dimension.DEPARTMENT
    return [
        UnitRates(
            r.key,
            r.name,
            r.name_en,
            {k: f.value for k, f in r.figures.items()},
            {k: f.denominator for k, f in r.figures.items()},
        )
        for r in report.rows
    ]


def _unit(depts: dict[int, Department], dept_id: int | None) -> tuple[str | None, str, str]:
    d = depts.get(dept_id) if dept_id is not None else None
    if d is None:
        return None, COMMAND_CENTRE[0], COMMAND_CENTRE[1]
    return d.code, d.name, d.name_en


def _light_sums(
    now: datetime,
) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    red = Case.step_deadline <= now
    yellow = (Case.step_deadline > now) & (Case.step_warn_at <= now)
    green = (Case.step_deadline > now) & (Case.step_warn_at > now)
    r, y, g = (func.sum(case((c, 1), else_=0)) for c in (red, yellow, green))
    return r, y, g


@dataclass
class LightMix:
    key: str | None  # department code; None: with the command centre
    name: str
    name_en: str
    red: int
    yellow: int
    green: int

    @property
    def total(self) -> int:
        return self.red + self.yellow + self.green


def light_mix(s: Session, now: datetime) -> tuple[LightMix, list[LightMix]]:
    """Open cases by traffic light: the whole city and per responsible unit."""
    lights = _light_sums(now)
    stmt = (
        select(Case.department_id, *lights)
        .where(Case.step_deadline.is_not(None))
        .group_by(Case.department_id)
    )
    depts = {d.id: d for d in s.scalars(select(Department))}
    units: list[LightMix] = []
    for dept_id, red, yellow, green in s.execute(stmt):
        key, name, name_en = _unit(depts, dept_id)
        units.append(LightMix(key, name, name_en, int(red or 0), int(yellow or 0), int(green or 0)))
    units.sort(key=lambda u: (-u.red, -u.yellow, u.key or ""))
    city = LightMix(
        "city",
        "全市",
        "Whole city",
        sum(u.red for u in units),
        sum(u.yellow for u in units),
        sum(u.green for u in units),
    )
    return city, units


def _light(deadline: datetime, warn_at: datetime | None, now: datetime) -> str:
    if deadline <= now:
        return Light.RED.value
    return Light.YELLOW.value if warn_at is not None and warn_at <= now else Light.GREEN.value


@dataclass
class OpenMap:
    points: list[dict[str, Any]]  # the most urgent open cases
    cells: list[dict[str, Any]]  # every grid cell with open cases: centre and light counts
    total: int
    truncated: bool


def open_map(s: Session, now: datetime, limit: int = MAP_POINTS_MAX) -> OpenMap:
    """Open cases' positions (WGS-84) and lights, most overdue first, plus per-cell counts."""
    limit = max(1, min(limit, MAP_POINTS_MAX))
    depts = {d.id: d.code for d in s.scalars(select(Department))}
    rows = s.execute(
        select(
            Case.id, Case.lat, Case.lon, Case.state, Case.category_code, Case.department_id,
            Case.grid_code, Case.step_deadline, Case.step_warn_at,
        )
        .where(Case.step_deadline.is_not(None))
        .order_by(Case.step_deadline, Case.id)
        .limit(limit + 1)
    ).all()  # fmt: skip
    points = [
        {
            "id": r.id,
            "lat": r.lat,
            "lon": r.lon,
            "light": _light(r.step_deadline, r.step_warn_at, now),
            "state": r.state,
            "category": r.category_code,
            "department": depts.get(r.department_id) if r.department_id else None,
            "grid": r.grid_code,
        }
        for r in rows[:limit]
    ]
    lights = _light_sums(now)
    per_cell = s.execute(
        select(Case.grid_code, *lights)
        .where(Case.step_deadline.is_not(None))
        .group_by(Case.grid_code)
    ).all()
    boxes = {
        c.code: c
        for c in s.scalars(
            select(GridCell).where(GridCell.code.in_([g for g, *_ in per_cell if g]))
        )
    }
    cells: list[dict[str, Any]] = []
    for grid, red, yellow, green in per_cell:
        box = boxes.get(grid or "")
        if box is None:
            continue
        cells.append(
            {
                "grid": grid,
                "name": box.name,
                "lat": round((box.min_lat + box.max_lat) / 2, 6),
                "lon": round((box.min_lon + box.max_lon) / 2, 6),
                "bbox": [box.min_lat, box.min_lon, box.max_lat, box.max_lon],
                "red": int(red or 0),
                "yellow": int(yellow or 0),
                "green": int(green or 0),
            }
        )
    total = sum(c["red"] + c["yellow"] + c["green"] for c in cells)
    return OpenMap(points, cells, total, len(rows) > limit)


@dataclass
class SupervisionCount:
    key: str | None
    name: str
    name_en: str
    notes: int  # 督办 notes written in the period
    cases: int  # distinct cases they were about
    answered: int  # of the notes, answered by now
    open_now: int  # of the notes, awaiting an answer now
    superseded: int  # of the notes, unanswered when the case went to another unit (已改派) or
    # written to no unit (before dispatch, under the old rule): nobody is to answer them


def supervision_by_unit(s: Session, period: Period, tz: ZoneInfo) -> list[SupervisionCount]:
    """督办 notes written in the period, per responsible unit, most supervised first: how many
    were answered, are superseded (the case went elsewhere first) and await an answer now."""
    start, end = period.bounds(tz)
    answered = Supervision.answered_at.is_not(None)
    stmt = (
        select(
            Supervision.department_id,
            func.count(),
            func.count(func.distinct(Supervision.case_id)),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((superseded_clause(), 1), else_=0)),
        )
        .where(Supervision.created_at >= start, Supervision.created_at < end)
        .group_by(Supervision.department_id)
    )
    depts = {d.id: d for d in s.scalars(select(Department))}
    out = []
    for dept_id, notes, cases, done, moved in s.execute(stmt):
        key, name, name_en = _unit(depts, dept_id)
        done, moved = int(done or 0), int(moved or 0)
        out.append(
            SupervisionCount(key, name, name_en, notes, cases, done, notes - done - moved, moved)
        )
    out.sort(key=lambda u: (-u.notes, u.key or ""))
    return out


__all__ = [
    "cases_per_day",
    "light_mix",
    "on_time_by_department",
    "open_map",
    "supervision_by_unit",
]
