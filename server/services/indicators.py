"""Indicators (考核指标) for a period, per area, department, inspector or the whole city.

Three aggregate queries, each one scan of an index range with ``GROUP BY`` and ``SUM(CASE …)``
— never a loop over cases in Python:

1. audit events that happened in the period (``case_events.at``): on-time steps, decisions,
   checks, closings, ratings, and the closure cohort of the cases registered in it;
2. steps finished late whose deadline fell in the period (``case_events.step_deadline``);
3. open steps whose deadline fell in the period and are still not done (``cases.step_deadline``).

Definitions and edge cases: ``server.domain.indicators`` and docs/indicators.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared_models.enums import CaseState, Role
from shared_models.errors import Forbidden

from ..domain.indicators import (
    AREA_PREFIX,
    SATISFIED_MIN_STARS,
    STEP_ACTIONS,
    Dimension,
    Figure,
    Period,
    counts_for,
    figures,
)
from ..models import Area, Case, CaseEvent, Department, GridCell, User
from .actor import Actor

CITY_NAME = ("全市", "Whole city")
MERGED = CaseState.MERGED.value
# Actions a department's handler takes: the event's own department is the responsible unit.
DEPARTMENT_ACTIONS = ("accept", "handle", "return")
# Counts that need the event's case row (is it a merged duplicate, was it closed by the cut).
CASE_COUNTS = ("reported", "closure_base", "closure_done")


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
    for key, counts in _event_counts(s, dimension, start, end, cut):
        _add(totals, key, counts)
    for key, step, n in _late_counts(s, dimension, start, end):
        _add(totals, key, {f"{step}_late": n})
    if cut > start:
        for key, step, n in _overdue_counts(s, dimension, start, cut):
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


# -- the dimension of a row ------------------------------------------------------------------


def _area_key(dimension: Dimension) -> Any:
    if dimension is Dimension.GRID:
        return Case.grid_code
    return func.substr(Case.grid_code, 1, AREA_PREFIX[dimension])


def _event_key(dimension: Dimension) -> Any:
    """Who an audit event's counts belong to."""
    if dimension is Dimension.CITY:
        return literal("city")
    if dimension is Dimension.DEPARTMENT:
        # A handler's own action belongs to its department (the case may move on later);
        # anything else to the case's responsible unit.
        return case(
            (CaseEvent.action.in_(DEPARTMENT_ACTIONS), CaseEvent.department_id),
            else_=Case.department_id,
        )
    if dimension is Dimension.INSPECTOR:
        return case(
            (CaseEvent.action.in_(("verify", "check")), CaseEvent.actor_id),
            (
                and_(
                    CaseEvent.action.in_(("report", "register", "reject")),
                    Case.source == "inspector",
                ),
                Case.reporter_id,
            ),
            else_=None,
        )
    return _area_key(dimension)


def _open_key(dimension: Dimension) -> Any:
    """Who an open, overdue step belongs to."""
    if dimension is Dimension.CITY:
        return literal("city")
    if dimension is Dimension.DEPARTMENT:
        return case((Case.step == "handle", Case.department_id), else_=None)
    if dimension is Dimension.INSPECTOR:
        return case((Case.step.in_(("verify", "check")), Case.inspector_id), else_=None)
    return _area_key(dimension)


# -- the three aggregate queries -------------------------------------------------------------


def _n(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((cond, 1), else_=0))


def _event_counts(
    s: Session, dimension: Dimension, start: datetime, end: datetime, cut: datetime
) -> list[tuple[Any, dict[str, int]]]:
    a = CaseEvent.action
    kept = Case.state != MERGED  # a merged duplicate is not a case of its own
    closing = CaseEvent.__table__.alias("closing")
    closed_by_cut = exists().where(
        closing.c.case_id == Case.id,
        closing.c.action == "check",
        closing.c.to_state == CaseState.CLOSED.value,
        closing.c.at < cut,
    )
    # A case closed now was closed before the cut if its last closing was; a reopened one
    # may have been closed then and reopened since, which only its audit trail can tell.
    was_closed = (Case.closed_at < cut) | ((Case.reopen_count > 0) & closed_by_cut)
    stars = CaseEvent.data["stars"].as_integer()
    cols: dict[str, ColumnElement[int]] = {
        "reported": _n((a == "report") & kept),
        "registered": _n(a == "register"),
        "rejected": _n(a == "reject"),
        "merged": _n(a == "merge"),
        "returned": _n(a == "return"),
        "closure_base": _n((a == "register") & kept),
        "closure_done": _n((a == "register") & kept & was_closed),
        "closed": _n((a == "check") & (CaseEvent.to_state == CaseState.CLOSED.value)),
        "checked": _n(a == "check"),
        "check_failed": _n((a == "check") & (CaseEvent.to_state == CaseState.REWORK.value)),
        "reopened": _n(a == "reopen"),
        "ratings": _n(a == "rate"),
        "satisfied": _n((a == "rate") & (stars >= SATISFIED_MIN_STARS)),
    }
    for step, actions in STEP_ACTIONS.items():
        cols[f"{step}_on_time"] = _n(
            (CaseEvent.step == step) & CaseEvent.on_time.is_(True) & a.in_(actions)
        )
    key = _event_key(dimension).label("k")
    if dimension is not Dimension.CITY:
        return _aggregate(s, key, cols, start, end, join=True)
    # The whole city needs the case row only to tell merged duplicates and closings apart:
    # join it for reports and registrations alone, count everything else from the events.
    own = {k: c for k, c in cols.items() if k not in CASE_COUNTS}
    joined = {k: cols[k] for k in CASE_COUNTS}
    return _aggregate(s, key, own, start, end, join=False) + _aggregate(
        s, key, joined, start, end, join=True, actions=("report", "register")
    )


def _aggregate(
    s: Session,
    key: Any,
    cols: dict[str, ColumnElement[int]],
    start: datetime,
    end: datetime,
    join: bool,
    actions: tuple[str, ...] | None = None,
) -> list[tuple[Any, dict[str, int]]]:
    """One ``GROUP BY key`` over the events of [start, end), one ``SUM(CASE …)`` a count."""
    stmt = select(key, *(c.label(name) for name, c in cols.items())).select_from(CaseEvent)
    if join:
        stmt = stmt.join(Case, Case.id == CaseEvent.case_id)
    stmt = stmt.where(CaseEvent.at >= start, CaseEvent.at < end)
    if actions:
        stmt = stmt.where(CaseEvent.action.in_(actions))
    names = list(cols)
    return [(r[0], dict(zip(names, r[1:], strict=True))) for r in s.execute(stmt.group_by(key))]


def _late_counts(
    s: Session, dimension: Dimension, start: datetime, end: datetime
) -> list[tuple[Any, str, int]]:
    """Steps finished after their deadline, counted in the period the deadline fell in."""
    key = _event_key(dimension).label("k")
    stmt = select(key, CaseEvent.step, func.count()).select_from(CaseEvent)
    if dimension is not Dimension.CITY:
        stmt = stmt.join(Case, Case.id == CaseEvent.case_id)
    stmt = stmt.where(
        CaseEvent.on_time.is_(False),
        CaseEvent.step_deadline >= start,
        CaseEvent.step_deadline < end,
        CaseEvent.action != "merge",
    ).group_by(key, CaseEvent.step)
    return [(k, step, n) for k, step, n in s.execute(stmt) if step in STEP_ACTIONS]


def _overdue_counts(
    s: Session, dimension: Dimension, start: datetime, cut: datetime
) -> list[tuple[Any, str, int]]:
    """Open steps whose deadline fell in the period and passed, still not done."""
    key = _open_key(dimension).label("k")
    stmt = (
        select(key, Case.step, func.count())
        .where(Case.step_deadline >= start, Case.step_deadline < cut)
        .group_by(key, Case.step)
    )
    return [(k, step, n) for k, step, n in s.execute(stmt) if step in STEP_ACTIONS]


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
