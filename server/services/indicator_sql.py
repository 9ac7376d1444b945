"""The aggregate queries behind the indicators: counts per row key, never a loop over cases.

Each query is one index range with ``GROUP BY key`` and a ``SUM(CASE …)`` per count:

1. audit events that happened in the period (``case_events.at``), in one or more *passes*;
2. cases reported in the period (``cases.created_at``): reports that are not merged
   duplicates, and the closure cohort (registered; closed by the cut);
3. steps finished late whose deadline fell in the period (``case_events.step_deadline``);
4. open steps whose deadline fell in the period and are still not done (``cases.step_deadline``).

A pass joins events to their cases only when its row key needs the case (the grid cell, the
responsible unit). The whole city never joins and reads its events from the covering index
``ix_case_events_at`` (only ratings' stars sit outside it, counted in a pass of their own);
a department's and an inspector's own actions carry their key on the event itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared_models.enums import CaseState

from ..domain.indicators import AREA_PREFIX, SATISFIED_MIN_STARS, STEP_ACTIONS, Dimension
from ..models import Case, CaseEvent

Counts = list[tuple[Any, dict[str, int]]]
MERGED = CaseState.MERGED.value
# States of a case that was registered (立案) and is neither merged nor rejected.
REGISTERED_STATES = tuple(
    s.value for s in CaseState
    if s not in (CaseState.REPORTED, CaseState.VERIFYING, CaseState.REJECTED, CaseState.MERGED)
)  # fmt: skip
# A handler's own actions: the event's department is the responsible unit.
DEPARTMENT_ACTIONS = ("handle", "return")
INSPECTOR_ACTIONS = ("verify", "check")


def _n(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((cond, 1), else_=0))


def _event_columns() -> dict[str, ColumnElement[int]]:
    a = CaseEvent.action
    stars = CaseEvent.data["stars"].as_integer()
    cols: dict[str, ColumnElement[int]] = {
        "registered": _n(a == "register"),
        "rejected": _n(a == "reject"),
        "merged": _n(a == "merge"),
        "returned": _n(a == "return"),
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
    return cols


RATINGS = ("ratings", "satisfied")


@dataclass(frozen=True)
class Pass:
    """One scan of the period's events: which counts, whose key, which actions, with cases?"""

    counts: tuple[str, ...]
    key: Any
    actions: tuple[str, ...] | None = None
    join: bool = False


def _area_key(dimension: Dimension) -> Any:
    if dimension is Dimension.GRID:
        return Case.grid_code
    return func.substr(Case.grid_code, 1, AREA_PREFIX[dimension])


def _passes(dimension: Dimension) -> list[Pass]:
    every = tuple(_event_columns())
    if dimension is Dimension.CITY:
        city = literal("city")
        rest = tuple(k for k in every if k not in RATINGS)
        return [Pass(rest, city), Pass(RATINGS, city, ("rate",))]
    if dimension is Dimension.DEPARTMENT:
        return [
            Pass(("handle_on_time", "returned"), CaseEvent.department_id, DEPARTMENT_ACTIONS),
            Pass(("closed", "checked", "check_failed", "reopened", *RATINGS),
                 Case.department_id, ("check", "reopen", "rate"), join=True),
        ]  # fmt: skip
    if dimension is Dimension.INSPECTOR:
        reporter = case((Case.source == "inspector", Case.reporter_id), else_=None)
        return [
            Pass(("verify_on_time", "check_on_time"), CaseEvent.actor_id, INSPECTOR_ACTIONS),
            Pass(("registered", "rejected"), reporter, ("register", "reject"), join=True),
        ]
    return [Pass(every, _area_key(dimension), join=True)]


def event_counts(s: Session, dimension: Dimension, start: datetime, end: datetime) -> Counts:
    """Counts of the events that happened in [start, end)."""
    cols = _event_columns()
    out: Counts = []
    for p in _passes(dimension):
        key = p.key.label("k")
        stmt = select(key, *(cols[c].label(c) for c in p.counts)).select_from(CaseEvent)
        if p.join:
            stmt = stmt.join(Case, Case.id == CaseEvent.case_id)
        stmt = stmt.where(CaseEvent.at >= start, CaseEvent.at < end)
        if p.actions:
            stmt = stmt.where(CaseEvent.action.in_(p.actions))
        rows = s.execute(stmt.group_by(key))
        out += [(r[0], dict(zip(p.counts, r[1:], strict=True))) for r in rows]
    return out


def _case_key(dimension: Dimension) -> Any:
    """Who a case's own counts belong to (reports, the closure cohort)."""
    if dimension is Dimension.CITY:
        return literal("city")
    if dimension is Dimension.DEPARTMENT:
        return Case.department_id
    if dimension is Dimension.INSPECTOR:
        return case((Case.source == "inspector", Case.reporter_id), else_=None)
    return _area_key(dimension)


def case_counts(
    s: Session, dimension: Dimension, start: datetime, end: datetime, cut: datetime
) -> Counts:
    """Cases reported in [start, end): not merged; registered; of those, closed by ``cut``."""
    registered = Case.state.in_(REGISTERED_STATES)
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
    cols = {
        "reported": _n(Case.state != MERGED),
        "closure_base": _n(registered),
        "closure_done": _n(registered & was_closed),
    }
    key = _case_key(dimension).label("k")
    stmt = (
        select(key, *(c.label(name) for name, c in cols.items()))
        .where(Case.created_at >= start, Case.created_at < end)
        .group_by(key)
    )
    names = list(cols)
    return [(r[0], dict(zip(names, r[1:], strict=True))) for r in s.execute(stmt)]


def late_counts(
    s: Session, dimension: Dimension, start: datetime, end: datetime
) -> list[tuple[Any, str, int]]:
    """Steps finished after their deadline, counted in the period the deadline fell in."""
    join, steps = False, None
    if dimension is Dimension.CITY:
        key: Any = literal("city")
    elif dimension is Dimension.DEPARTMENT:  # a late handling (or return) is the handler's
        key, steps = CaseEvent.department_id, ("handle",)
    elif dimension is Dimension.INSPECTOR:  # a late verification or check, by its inspector
        key, steps = CaseEvent.actor_id, INSPECTOR_ACTIONS
    else:
        key, join = _area_key(dimension), True
    k = key.label("k")
    stmt = select(k, CaseEvent.step, func.count()).select_from(CaseEvent)
    if join:
        stmt = stmt.join(Case, Case.id == CaseEvent.case_id)
    stmt = stmt.where(
        CaseEvent.on_time.is_(False),
        CaseEvent.step_deadline >= start,
        CaseEvent.step_deadline < end,
        CaseEvent.action != "merge",
    )
    if steps:
        stmt = stmt.where(CaseEvent.step.in_(steps))
    if dimension is Dimension.INSPECTOR:
        stmt = stmt.where(CaseEvent.action.in_(INSPECTOR_ACTIONS))
    rows = s.execute(stmt.group_by(k, CaseEvent.step))
    return [(k_, step, n) for k_, step, n in rows if step in STEP_ACTIONS]


def overdue_counts(
    s: Session, dimension: Dimension, start: datetime, cut: datetime
) -> list[tuple[Any, str, int]]:
    """Open steps whose deadline fell in [start, cut) and passed, still not done."""
    if dimension is Dimension.DEPARTMENT:
        key = case((Case.step == "handle", Case.department_id), else_=None)
    elif dimension is Dimension.INSPECTOR:
        key = case((Case.step.in_(INSPECTOR_ACTIONS), Case.inspector_id), else_=None)
    else:
        key = _case_key(dimension)
    k = key.label("k")
    stmt = (
        select(k, Case.step, func.count())
        .where(Case.step_deadline >= start, Case.step_deadline < cut)
        .group_by(k, Case.step)
    )
    return [(k_, step, n) for k_, step, n in s.execute(stmt) if step in STEP_ACTIONS]


__all__ = ["case_counts", "event_counts", "late_counts", "overdue_counts"]
