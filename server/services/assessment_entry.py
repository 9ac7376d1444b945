"""What the office (考核办, role ``admin``) writes into a month's assessment: the parts it scores,
bonus and penalty items with their reasons, publishing and withdrawing the bulletin.

Every function validates everything before writing anything, and flushes but never commits:
a refused request leaves the month as it was. Each write first takes the month's lock (below),
so an entry cannot slip into a bulletin being published.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared_models.errors import Conflict, Forbidden, InvalidInput, NotFound

from ..domain import assessment as rules
from ..domain.indicators import Period
from ..models import AssessmentAdjustment, AssessmentMonth, AssessmentScore, Department
from .actor import Actor
from .assessment import DRAFT, PUBLISHED, compute, is_office

MAX_COUNT = 50  # items of one kind in one entry


def _office(actor: Actor) -> None:
    if not is_office(actor):
        raise Forbidden()


def _locked(s: Session, month: str, now: datetime) -> AssessmentMonth | None:
    """The month's row, read after taking its write lock.

    An UPDATE comes first: on PostgreSQL it locks the row, on SQLite it starts the write
    transaction (a plain read would not), so the status read next cannot change before commit.
    """
    s.execute(update(AssessmentMonth).where(AssessmentMonth.month == month).values(updated_at=now))
    stmt = select(AssessmentMonth).where(AssessmentMonth.month == month)
    return s.scalar(stmt.execution_options(populate_existing=True))


def _draft(s: Session, month: str, now: datetime) -> AssessmentMonth:
    """The month's draft, created on first entry; a published month refuses changes."""
    row = _locked(s, month, now)
    if row is None:
        row = AssessmentMonth(month=month, status=DRAFT, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
    elif row.status == PUBLISHED:
        raise Conflict("assessment_published", month=month)
    row.updated_at = now
    return row


def _departments(s: Session, codes: list[str]) -> dict[str, Department]:
    return {d.code: d for d in s.scalars(select(Department).where(Department.code.in_(codes)))}


def to_centi(value: Any) -> int:
    """A 0–100 score with at most two decimals, as integer hundredths."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError("Not a number. 不是数字。") from None
    if not d.is_finite() or not 0 <= d <= 100:
        raise ValueError("Between 0 and 100. 应在0到100之间。")
    if d != rules.q(d):
        raise ValueError("At most two decimals. 最多两位小数。")
    return int(d * 100)


def enter_scores(
    s: Session, actor: Actor, month: str, units: list[dict[str, Any]], now: datetime
) -> int:
    """Set parts for several units at once: all of it or nothing. ``None`` clears a part.

    ``units``: ``[{"department": code, "special": 92.5, ...}]``; parts left out stay as they
    are. Returns how many units were written.
    """
    _office(actor)
    Period.parse_month(month)
    depts = _departments(s, [str(u.get("department")) for u in units])
    errors: dict[str, dict[str, list[str]]] = {}
    seen: set[str] = set()
    parsed: list[tuple[Department, dict[str, int | None]]] = []
    for i, unit in enumerate(units):
        problems: dict[str, list[str]] = {}
        code = str(unit.get("department") or "")
        dept = depts.get(code)
        if dept is None or not dept.active:
            problems["department"] = ["Unknown unit. 未知单位。"]
        elif code in seen:
            problems["department"] = ["Listed twice. 重复录入。"]
        seen.add(code)
        values: dict[str, int | None] = {}
        for key in rules.ENTERED_PARTS:
            if key in unit:
                try:
                    values[key] = None if unit[key] is None else to_centi(unit[key])
                except ValueError as e:
                    problems[key] = [str(e)]
        if not values and "department" not in problems:
            problems["department"] = ["No part given. 未填写任何分项。"]
        if problems:
            errors[str(i)] = problems
        elif dept is not None:
            parsed.append((dept, values))
    if errors or not units:
        raise InvalidInput(errors={"units": errors or ["Empty. 不能为空。"]})
    _draft(s, month, now)
    for dept, values in parsed:
        row = s.get(AssessmentScore, (month, dept.id))
        if row is None:
            row = AssessmentScore(month=month, department_id=dept.id)
            s.add(row)
        for key, v in values.items():
            setattr(row, key, v)
        row.updated_by, row.updated_at = actor.id, now
    s.flush()
    return len(parsed)


def add_adjustment(
    s: Session,
    actor: Actor,
    month: str,
    department: str,
    rule: str,
    count: int,
    reason: str,
    now: datetime,
) -> AssessmentAdjustment:
    """Record a bonus or penalty item (加分/减分) for a unit, with its reason."""
    _office(actor)
    Period.parse_month(month)
    errors: dict[str, list[str]] = {}
    dept = _departments(s, [department]).get(department)
    if dept is None or not dept.active:
        errors["department"] = ["Unknown unit. 未知单位。"]
    if rule not in rules.RULES:
        errors["rule"] = ["Unknown rule. 未知加减分项目。"]
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        errors["count"] = [f"From 1 to {MAX_COUNT}. 应为1到{MAX_COUNT}。"]
    if not str(reason or "").strip():
        errors["reason"] = ["Required. 必须填写原因。"]
    if errors:
        raise InvalidInput(errors=errors)
    assert dept is not None
    _draft(s, month, now)
    adj = AssessmentAdjustment(
        month=month,
        department_id=dept.id,
        rule=rule,
        count=count,
        reason=reason.strip()[:1000],
        created_by=actor.id,
        created_at=now,
    )
    s.add(adj)
    s.flush()
    return adj


def remove_adjustment(
    s: Session, actor: Actor, month: str, adjustment_id: int, now: datetime
) -> None:
    _office(actor)
    Period.parse_month(month)
    adj = s.get(AssessmentAdjustment, adjustment_id)
    if adj is None or adj.month != month:
        raise NotFound()
    _draft(s, month, now)
    s.delete(adj)
    s.flush()


def publish(s: Session, actor: Actor, month: str, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Freeze and publish the bulletin; every unit must have every part, the month be over."""
    _office(actor)
    period = Period.parse_month(month)
    opens = period.bounds(tz)[1]
    if now < opens:
        raise Conflict("assessment_month_open", month=month, opens=period.end.isoformat())
    row = _draft(s, month, now)
    b = compute(s, month, period, now, tz)
    if not b["complete"]:
        missing = {u["department"]: {"missing": u["missing"]} for u in b["units"] if u["missing"]}
        raise InvalidInput("assessment_incomplete", errors={"units": missing or ["Empty."]})
    b.update(status=PUBLISHED, published_at=now.isoformat(), updated_at=now.isoformat())
    row.status, row.snapshot = PUBLISHED, b
    row.published_at, row.published_by = now, actor.id
    s.flush()
    return b


def withdraw(s: Session, actor: Actor, month: str, now: datetime) -> None:
    """Take a published bulletin back to draft (to correct it); the entries stay."""
    _office(actor)
    Period.parse_month(month)
    row = _locked(s, month, now)
    if row is None or row.status != PUBLISHED:
        raise Conflict("assessment_not_published", month=month)
    row.status, row.snapshot, row.published_at, row.published_by = DRAFT, None, None, None
    row.updated_at = now
    s.flush()


__all__ = ["add_adjustment", "enter_scores", "publish", "remove_adjustment", "withdraw"]
