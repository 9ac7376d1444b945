"""The monthly assessment bulletin (月度考核通报): computed for the office while it is a draft,
frozen when published, read by every staff member once published; the yearly ranking.

Who: the office (``admin``, 考核办) enters, publishes, withdraws and sees drafts; published
bulletins are for all staff (dispatchers, departments, inspectors) — the rules publish the
ranking to every unit and the media; citizens and merchants use the app, not this.
Entry of the parts and the bonus/penalty items: ``server.services.assessment_entry``.
Rules: ``server.domain.assessment``; docs/assessment.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.enums import STAFF_ROLES, Role
from shared_models.errors import Forbidden, NotFound

from ..domain import assessment as rules
from ..domain.indicators import Dimension, Period
from ..models import AssessmentAdjustment, AssessmentMonth, AssessmentScore, Department
from . import indicators
from .actor import Actor

DRAFT, PUBLISHED = "draft", "published"


def may_read(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise Forbidden()


def is_office(actor: Actor) -> bool:
    return actor.role is Role.ADMIN


def _num(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def centi(x: int | None) -> Decimal | None:
    return None if x is None else Decimal(x) / 100


def bulletin(s: Session, actor: Actor, month: str, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The bulletin of ``month``: published → as published; otherwise the office's live draft."""
    may_read(actor)
    period = Period.parse_month(month)
    row = s.get(AssessmentMonth, month)
    if row is not None and row.status == PUBLISHED and row.snapshot is not None:
        return row.snapshot
    if not is_office(actor):
        raise NotFound("assessment_not_found", month=month)
    return compute(s, month, period, now, tz)


def compute(s: Session, month: str, period: Period, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Score every active unit of ``month`` from its indicators and the office's entries."""
    report = indicators.compute(s, period, Dimension.DEPARTMENT, now, tz)
    figures = {r.key: r.figures for r in report.rows}
    depts = list(s.scalars(select(Department).order_by(Department.code)))
    entered = {e.department_id: e for e in s.scalars(
        select(AssessmentScore).where(AssessmentScore.month == month))}  # fmt: skip
    adjustments: dict[int, list[AssessmentAdjustment]] = defaultdict(list)
    for a in s.scalars(
        select(AssessmentAdjustment)
        .where(AssessmentAdjustment.month == month)
        .order_by(AssessmentAdjustment.id)
    ):
        adjustments[a.department_id].append(a)
    units, extra = [], {}
    for d in depts:
        if not d.active and d.id not in entered and d.id not in adjustments:
            continue
        e = entered.get(d.id)
        parts = {k: centi(getattr(e, k)) if e else None for k in rules.ENTERED_PARTS}
        figs = figures.get(d.code, {})
        adj = adjustments.get(d.id, [])
        unit = rules.score_unit(
            d.code,
            d.name,
            d.name_en,
            {k: f.value for k, f in figs.items()},
            parts,
            [rules.Adjustment(a.rule, a.count, a.reason) for a in adj],
        )
        units.append(unit)
        extra[d.code] = (figs, adj)
    ranked = rules.rank(units)
    scored = [(u.key, u.total) for u in ranked if u.total is not None]
    row = s.get(AssessmentMonth, month)
    return {
        "month": month,
        "status": DRAFT,
        "published_at": None,
        "as_of": report.as_of.isoformat(),
        "parts": [
            {"key": p.key, "name_zh": p.name_zh, "name_en": p.name_en, "weight": float(p.weight)}
            for p in rules.PARTS
        ],
        "units": [_unit(u, *extra[u.key]) for u in ranked],
        "named": vars(rules.named(scored)),  # type: ignore[arg-type]
        "complete": all(u.total is not None for u in ranked) and bool(ranked),
        "updated_at": row.updated_at.isoformat() if row else None,
    }


def _unit(u: rules.UnitScore, figs: dict[str, Any], adj: list[AssessmentAdjustment]) -> Any:
    return {
        "rank": u.rank,
        "department": u.key,
        "name": u.name,
        "name_en": u.name_en,
        "parts": {k: _num(v) for k, v in u.parts.items()},
        "digital": {
            "no_cases": u.no_cases,
            "indicators": {
                k: {"value": f.value, "numerator": f.numerator, "denominator": f.denominator}
                for k, f in figs.items()
            },
        },
        "adjustments": [
            {
                "id": a.id,
                "rule": a.rule,
                "kind": rules.RULES[a.rule].kind,
                "name_zh": rules.RULES[a.rule].name_zh,
                "name_en": rules.RULES[a.rule].name_en,
                "count": a.count,
                "points": float(rules.RULES[a.rule].points * a.count),
                "reason": a.reason,
            }
            for a in adj
        ],
        "bonus": float(u.bonus),
        "penalty": float(u.penalty),
        "total": _num(u.total),
        "grade": None if u.grade is None else {
            "key": u.grade.key, "name_zh": u.grade.name_zh, "name_en": u.grade.name_en},
        "missing": u.missing,
    }  # fmt: skip


def months(s: Session, actor: Actor, year: int) -> list[dict[str, Any]]:
    """The months of ``year`` with an assessment: published ones, and drafts for the office."""
    may_read(actor)
    stmt = select(AssessmentMonth).where(AssessmentMonth.month.like(f"{year:04d}-%"))
    if not is_office(actor):
        stmt = stmt.where(AssessmentMonth.status == PUBLISHED)
    return [
        {
            "month": m.month,
            "status": m.status,
            "published_at": m.published_at,
            "updated_at": m.updated_at,
        }
        for m in s.scalars(stmt.order_by(AssessmentMonth.month))
    ]


def year(s: Session, actor: Actor, year_: int) -> dict[str, Any]:
    """年度考核成绩: each unit's mean over the year's published months, ranked."""
    may_read(actor)
    published = s.scalars(
        select(AssessmentMonth)
        .where(AssessmentMonth.month.like(f"{year_:04d}-%"))
        .where(AssessmentMonth.status == PUBLISHED)
        .order_by(AssessmentMonth.month)
    )
    per_month = {
        m.month: [
            (u["department"], u["name"], u["name_en"], Decimal(str(u["total"])))
            for u in (m.snapshot or {}).get("units", [])
            if u["total"] is not None
        ]
        for m in published
    }
    ys = rules.year_scores(per_month)
    return {
        "year": year_,
        "months": sorted(per_month),
        "units": [
            {
                "rank": y.rank,
                "department": y.key,
                "name": y.name,
                "name_en": y.name_en,
                "months": {k: float(v) for k, v in y.months.items()},
                "mean": float(y.mean),
                "grade": {
                    "key": y.grade.key,
                    "name_zh": y.grade.name_zh,
                    "name_en": y.grade.name_en,
                },
            }
            for y in ys
        ],  # fmt: skip
        "named": vars(rules.named([(y.key, y.mean) for y in ys])),
    }
