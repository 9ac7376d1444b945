"""Queue views for the command centre, departments and inspectors, in deadline order.

Every list is keyset-paginated on (step_deadline, id) or (created_at, id) so a page costs the
same at 1,000 or 1,000,000 cases; the traffic light is a range on stored instants
(``step_warn_at``, ``step_deadline``), so filtering by light uses the same indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select, tuple_
from sqlalchemy.orm import Session

from shared_models.enums import CaseState, Light, Role
from shared_models.errors import Forbidden

from ..models import Case, CaseReporter, Category, Department, Supervision
from .actor import Actor
from .case_search import text_clause
from .visibility import (
    awaiting_clause,
    holder_of_note,
    scope_clause,
    supervision_clause,
    supervision_status,
)


@dataclass
class QueueFilter:
    states: list[str] | None = None
    light: Light | None = None
    department: str | None = None
    grid: str | None = None
    category: str | None = None
    source: str | None = None
    supervised: bool | None = None
    tasks: bool = False  # inspector: only tasks assigned to me
    text: str | None = None  # address or description contains this


def _after(
    stmt: Select[Any], after: list[Any] | None, key: tuple[Any, Any], desc: bool = False
) -> Select[Any]:
    if not after:
        return stmt
    first = datetime.fromisoformat(after[0]) if isinstance(after[0], str) else after[0]
    cmp = tuple_(*key) < tuple_(first, after[1]) if desc else tuple_(*key) > tuple_(first, after[1])
    return stmt.where(cmp)


def queue(
    s: Session, actor: Actor, f: QueueFilter, now: datetime, limit: int, after: list[Any] | None
) -> tuple[list[Case], list[Any] | None]:
    """Open (and, when asked by state, closed) cases the actor may see, soonest deadline first."""
    if actor.role in (Role.CITIZEN, Role.MERCHANT):
        raise Forbidden()
    stmt = select(Case)
    clause = scope_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    if f.tasks:
        stmt = stmt.where(Case.inspector_id == actor.id)
    finals = {CaseState.CLOSED.value, CaseState.REJECTED.value, CaseState.MERGED.value}
    if f.states:
        stmt = stmt.where(Case.state.in_(f.states))
    open_only = not f.states or not set(f.states) & finals
    if open_only:
        stmt = stmt.where(Case.step_deadline.is_not(None))
    if f.light is Light.RED:
        stmt = stmt.where(Case.step_deadline <= now)
    elif f.light is Light.YELLOW:
        stmt = stmt.where(Case.step_deadline > now, Case.step_warn_at <= now)
    elif f.light is Light.GREEN:
        stmt = stmt.where(Case.step_deadline > now, Case.step_warn_at > now)
    if f.department:
        dept_id = select(Department.id).where(Department.code == f.department).scalar_subquery()
        stmt = stmt.where(Case.department_id == dept_id)
    if f.grid:
        stmt = stmt.where(Case.grid_code == f.grid)
    if f.category:
        stmt = stmt.where(Case.category_code == f.category)
    if f.source:
        stmt = stmt.where(Case.source == f.source)
    if f.text:
        stmt = stmt.where(text_clause(s, f.text, open_only))
    if f.supervised is not None:
        sup = exists().where(Supervision.case_id == Case.id)
        stmt = stmt.where(sup if f.supervised else ~sup)
    key = (Case.step_deadline, Case.id)
    if f.states and set(f.states) <= finals:
        key = (Case.created_at, Case.id)
    stmt = _after(stmt, after, key).order_by(*key).limit(limit + 1)
    rows = list(s.scalars(stmt))
    return _page(rows, limit, key)


def _page(
    rows: list[Case], limit: int, key: tuple[Any, Any]
) -> tuple[list[Case], list[Any] | None]:
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    first = getattr(last, key[0].key)
    return rows[:limit], [first.isoformat() if first else None, last.id]


def my_cases(
    s: Session, actor: Actor, limit: int, after: list[Any] | None
) -> tuple[list[Case], list[Any] | None]:
    """Cases the actor reported or follows through a merge, newest first."""
    mine = exists().where(CaseReporter.case_id == Case.id, CaseReporter.user_id == actor.id)
    key = (Case.created_at, Case.id)
    stmt = select(Case).where(mine)
    stmt = _after(stmt, after, key, desc=True).order_by(Case.created_at.desc(), Case.id.desc())
    rows = list(s.scalars(stmt.limit(limit + 1)))
    return _page(rows, limit, key)


@dataclass(frozen=True)
class ListedNote:
    """A 督办 note in a list, with its state: ``awaiting`` an answer, ``answered``, or
    ``superseded`` (已改派: its unit lost the case before answering; or, written before
    dispatch under the old rule, addressed to no unit)."""

    note: Supervision
    status: str


def supervisions(
    s: Session, actor: Actor, open_only: bool, limit: int, after: list[Any] | None
) -> tuple[list[ListedNote], list[Any] | None]:
    """督办 notes: a department sees those addressed to it on cases it still holds; the
    command centre sees all (rules in ``visibility``). ``open_only``: those awaiting an
    answer, not the answered or superseded ones."""
    if actor.role not in (Role.HANDLER, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden()
    stmt = select(Supervision, holder_of_note())
    clause = supervision_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    if open_only:
        stmt = stmt.where(awaiting_clause())
    if after:
        stmt = stmt.where(Supervision.id > int(after[1]))
    rows = s.execute(stmt.order_by(Supervision.id).limit(limit + 1)).all()
    notes = [ListedNote(sup, supervision_status(sup, holder)) for sup, holder in rows[:limit]]
    return notes, [None, notes[-1].note.id] if len(rows) > limit else None


def by_id_prefix(s: Session, actor: Actor, prefix: str, limit: int) -> list[Case]:
    """Cases in any state whose id starts with ``prefix``: a case number typed at the desk.

    Ids are lower-case UUIDs. A whole id is looked up as it is; a prefix must be hex digits
    only (the part before the first hyphen), so that it is a range on the primary key that
    every collation sorts alike, re-checked exactly.
    """
    prefix = prefix.strip().lower()
    if len(prefix) == 36:
        stmt = select(Case).where(Case.id == prefix)
    else:
        if not prefix or prefix.strip("0123456789abcdef"):
            return []
        stmt = select(Case).where(Case.id >= prefix, Case.id < prefix + "g")
        stmt = stmt.where(Case.id.startswith(prefix, autoescape=True))
    clause = scope_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    return list(s.scalars(stmt.order_by(Case.id).limit(limit)))


def names(s: Session, cases: list[Case]) -> dict[str, dict[Any, Any]]:
    """Category and department names for a page of cases, in two queries."""
    cats = {c.category_code for c in cases}
    depts = {c.department_id for c in cases if c.department_id}
    out: dict[str, dict[Any, Any]] = {"categories": {}, "departments": {}}
    if cats:
        for cat in s.scalars(select(Category).where(Category.code.in_(cats))):
            out["categories"][cat.code] = cat
    if depts:
        for d in s.scalars(select(Department).where(Department.id.in_(depts))):
            out["departments"][d.id] = d
    return out


__all__ = ["QueueFilter", "by_id_prefix", "my_cases", "names", "queue", "supervisions"]
