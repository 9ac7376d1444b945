"""Who may see which case. Anything out of reach is reported as "not found", so ids leak nothing.

- dispatcher, admin: every case
- handler: cases currently with their department
- inspector: cases in their grid cells, tasks assigned to them, and what they reported
- citizen, merchant: cases they reported (including cases their report was merged into)

督办 (supervision) notes are between the command centre and the unit that holds the case:

- dispatcher, admin: every note and every answer
- handler: the notes addressed to their department, on cases still with it; they answer those.
  When the case is dispatched to another unit the old unit loses them (404, like any case it
  no longer holds). The new unit sees on the case that it was supervised before, when, to whom
  and the desk's note (why the case is urgent), not the old unit's answer, and answers nothing
  addressed to another unit.
- anyone else: none

A note the addressed unit has not answered when the case is dispatched elsewhere is
**superseded** (已改派): nobody is left to answer it (the old unit lost it, the new one answers
only its own), so it is no longer "awaiting an answer" in the desk's list or counts. Its state
follows the case: were the case dispatched back, the note would await that unit again.

A note is always addressed to a unit: the desk cannot supervise a case before it is dispatched
(409 ``not_dispatched``, ``services.cases.supervise``) nor while it is returned (409
``returned_to_desk``). A unit that returns a case no longer holds it, though the case still
names it: its notes on the case are superseded until the case is dispatched back to it. Notes
written before that rule, to no unit, are superseded too: nobody is to answer them, so they
await nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, false, null, or_, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import Session, aliased

from shared_models.enums import CaseState, Role
from shared_models.errors import NotFound

from ..models import Case, CaseReporter, GridCell, Supervision
from .actor import Actor


def scope_clause(actor: Actor) -> Any:
    """A WHERE clause limiting ``Case`` rows to those ``actor`` may see (None: no limit)."""
    reported = exists().where(CaseReporter.case_id == Case.id, CaseReporter.user_id == actor.id)
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        return None
    if actor.role is Role.HANDLER:
        return Case.department_id == actor.department_id
    if actor.role is Role.INSPECTOR:
        grids = select(GridCell.code).where(GridCell.inspector_id == actor.id)
        return or_(Case.inspector_id == actor.id, Case.grid_code.in_(grids), reported)
    return reported


def _in_reach(s: Session, stmt: Any, clause: Any, missing: str) -> Any:
    """The one row ``stmt`` finds within ``clause`` (None: no limit), else "not found"."""
    row = s.scalar(stmt if clause is None else stmt.where(clause))
    if row is None:
        raise NotFound(missing)
    return row


def load_visible(s: Session, actor: Actor, case_id: str) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    case: Case = _in_reach(s, stmt, scope_clause(actor), "case_not_found")
    return case


def supervision_clause(actor: Actor) -> Any:
    """A WHERE clause limiting ``Supervision`` rows to those ``actor`` may read and answer
    (None: no limit): a department's own notes on cases it still holds."""
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        return None
    if actor.role is Role.HANDLER:
        return and_(Supervision.department_id == actor.department_id, _still_held())
    return false()


def load_supervision(s: Session, actor: Actor, supervision_id: int) -> Supervision:
    """A 督办 note ``actor`` may read and answer, else "not found"."""
    stmt = select(Supervision).where(Supervision.id == supervision_id)
    sup: Supervision = _in_reach(s, stmt, supervision_clause(actor), "not_found")
    return sup


def sees_answer(actor: Actor, department_id: int | None) -> bool:
    """Whether ``actor`` may read a department's answer to a 督办 note: the desk, and the unit
    that was asked (only while it holds the case, which ``load_visible`` already ensures)."""
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        return True
    return actor.role is Role.HANDLER and department_id == actor.department_id


AWAITING, ANSWERED, SUPERSEDED = "awaiting", "answered", "superseded"


def holding_unit_sql(case: Any) -> Any:
    """``holding_unit`` in SQL, of ``case`` (``Case`` or an alias of it): NULL while the unit
    it names has returned it to the desk."""
    return case_when((case.state == CaseState.RETURNED.value, null()), else_=case.department_id)


def holder_of_note() -> Any:
    """A scalar subquery: the department now holding the note's case (``holding_unit_sql``)."""
    case = aliased(Case)  # its own name: correlated only to the note, whatever the query joins
    return select(holding_unit_sql(case)).where(case.id == Supervision.case_id).scalar_subquery()


def _still_held() -> Any:
    """The note's unit holds its case (an EXISTS, so a note to no unit, or a case no unit
    holds, is simply not held: never NULL under a NOT)."""
    case = aliased(Case)
    return exists().where(
        case.id == Supervision.case_id, holding_unit_sql(case) == Supervision.department_id
    )


def superseded_clause() -> Any:
    """A WHERE clause for the ``Supervision`` rows that are superseded: unanswered, addressed
    to a unit that no longer holds the case (or, written before any dispatch, to none)."""
    return and_(Supervision.answered_at.is_(None), ~_still_held())


def awaiting_clause() -> Any:
    """A WHERE clause for the notes still awaiting an answer (neither answered nor superseded):
    unanswered, addressed to the unit that holds the case."""
    return and_(Supervision.answered_at.is_(None), _still_held())


def holding_unit(case: Any) -> int | None:
    """The department holding a case (anything with ``department_id`` and ``state``): the one
    it names, unless that unit returned it to the desk. In SQL: ``holding_unit_sql``."""
    return None if case.state == CaseState.RETURNED else case.department_id


def supervision_status(sup: Supervision, case_department_id: int | None) -> str:
    """``answered``, ``superseded`` or ``awaiting``: the note as its list shows it, given the
    department now holding its case (``holding_unit``; the same rule as
    ``superseded_clause``)."""
    if sup.answered_at is not None:
        return ANSWERED
    if sup.department_id is None or sup.department_id != case_department_id:
        return SUPERSEDED
    return AWAITING
