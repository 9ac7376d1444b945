"""Indicators (考核指标) for a period, per area, department, inspector or the whole city.

``compute`` adds up the counts of ``server.services.indicator_sql`` (aggregate queries, never
a loop over cases) into rows, names the rows, turns counts into figures and keeps each viewer
to what they may see. Definitions and edge cases: ``server.domain.indicators`` and
docs/indicators.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.enums import Role
from shared_models.errors import Forbidden

from ..domain.indicators import Dimension, Figure, Period, counts_for, figures
from ..models import Area, Department, GridCell, User
from . import indicator_sql as sql
from .actor import Actor

CITY_NAME = ("全市", "Whole city")


@dataclass
class Row:
    """One row of a report: an area, department, inspector or the city, with its figures."""

    key: str
    name: str
    name_en: str
    counts: dict[str, int]
    figures: dict[str, Figure]


@dataclass
class Report:
    period: Period
    dimension: Dimension
    as_of: datetime  # steps due before this and still open count as overdue
    rows: list[Row]


def allowed_dimensions(actor: Actor) -> frozenset[Dimension]:
    """The command centre sees every breakdown; a department its own row; an inspector theirs."""
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        return frozenset(Dimension)
    if actor.role is Role.HANDLER:
        return frozenset({Dimension.CITY, Dimension.DEPARTMENT})
    if actor.role is Role.INSPECTOR:
        return frozenset({Dimension.CITY, Dimension.INSPECTOR})
    return frozenset()


def compute(
    s: Session,
    period: Period,
    dimension: Dimension,
    now: datetime,
    tz: ZoneInfo,
    actor: Actor | None = None,
) -> Report:
    """The indicators of ``period`` broken down by ``dimension``, as ``actor`` may see them.

    Departments and inspectors see only their own row; ``actor=None`` is the system (every
    row, used by the assessment).
    """
    if actor is not None and dimension not in allowed_dimensions(actor):
        raise Forbidden()
    start, end = period.bounds(tz)
    cut = min(end, now)
    totals: dict[Any, dict[str, int]] = {}
    for key, counts in sql.event_counts(s, dimension, start, end):
        _add(totals, key, counts)
    for key, counts in sql.case_counts(s, dimension, start, end, cut):
        _add(totals, key, counts)
    for key, step, n in sql.late_counts(s, dimension, start, end):
        _add(totals, key, {f"{step}_late": n})
    if cut > start:
        for key, step, n in sql.overdue_counts(s, dimension, start, cut):
            _add(totals, key, {f"{step}_overdue": n})
    rows = _rows(s, dimension, totals)
    if actor is not None:
        rows = _own_rows(s, actor, dimension, rows)
    return Report(period, dimension, cut.astimezone(UTC), rows)


def city(s: Session, period: Period, now: datetime, tz: ZoneInfo) -> Row:
    """The whole city's row (shortcut for ``compute(..., Dimension.CITY).rows[0]``)."""
    return compute(s, period, Dimension.CITY, now, tz).rows[0]


def _add(totals: dict[Any, dict[str, int]], key: Any, counts: dict[str, int]) -> None:
    if key is None:
        return
    row = totals.setdefault(key, {})
    for k, v in counts.items():
        row[k] = row.get(k, 0) + int(v or 0)


# -- naming the rows -------------------------------------------------------------------------


def _rows(s: Session, dimension: Dimension, totals: dict[Any, dict[str, int]]) -> list[Row]:
    """Every unit of the dimension (with no activity too: their rates are null), named."""
    keep = counts_for(dimension)

    def row(key: str, name: str, name_en: str, counts: dict[str, int]) -> Row:
        full = {k: counts.get(k, 0) for k in keep}
        return Row(key, name, name_en, full, figures(counts, dimension))

    if dimension is Dimension.CITY:
        return [row("city", *CITY_NAME, totals.get("city", {}))]
    if dimension is Dimension.DEPARTMENT:
        depts = s.scalars(select(Department).order_by(Department.code))
        return [
            row(d.code, d.name, d.name_en, totals.get(d.id, {}))
            for d in depts
            if d.active or d.id in totals
        ]
    if dimension is Dimension.INSPECTOR:
        users = s.scalars(
            select(User).where(User.role == Role.INSPECTOR.value).order_by(User.username)
        )
        return [
            row(u.username or str(u.id), u.display_name, u.username or "", totals.get(u.id, {}))
            for u in users
            if u.active or u.id in totals
        ]
    if dimension is Dimension.GRID:
        cells = s.execute(select(GridCell.code, GridCell.name).order_by(GridCell.code))
        named = {code: (name, "") for code, name in cells}
    else:
        level = dimension.value
        areas = s.execute(select(Area.code, Area.name, Area.name_en).where(Area.level == level))
        named = {code: (name, name_en) for code, name, name_en in areas}
    for code in totals:
        named.setdefault(code, (code, ""))  # an area since removed from the map
    return [row(code, *named[code], totals.get(code, {})) for code in sorted(named)]


def _own_rows(s: Session, actor: Actor, dimension: Dimension, rows: list[Row]) -> list[Row]:
    if actor.role in (Role.DISPATCHER, Role.ADMIN) or dimension is Dimension.CITY:
        return rows
    if actor.role is Role.HANDLER:
        code = s.scalar(select(Department.code).where(Department.id == actor.department_id))
        return [r for r in rows if r.key == code]
    username = s.scalar(select(User.username).where(User.id == actor.id))
    return [r for r in rows if r.key == (username or str(actor.id))]


__all__ = ["Report", "Row", "allowed_dimensions", "city", "compute"]
