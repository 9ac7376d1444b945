"""Who may see which case. Anything out of reach is reported as "not found", so ids leak nothing.

- dispatcher, admin: every case
- handler: cases currently with their department
- inspector: cases in their grid cells, tasks assigned to them, and what they reported
- citizen, merchant: cases they reported (including cases their report was merged into)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from shared_models.enums import Role
from shared_models.errors import NotFound

from ..models import Case, CaseReporter, GridCell
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


def load_visible(s: Session, actor: Actor, case_id: str) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    clause = scope_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    case = s.scalar(stmt)
    if case is None:
        raise NotFound("case_not_found")
    return case
