"""The monthly assessment (月度考核) over HTTP: the rules, the office's entries, publishing,
the bulletin (JSON and .xlsx) and the yearly ranking. Rules and access: docs/assessment.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy.exc import IntegrityError

from shared_models.enums import Role
from shared_models.errors import Conflict

from .. import clock
from ..db import session
from ..domain import assessment as rules
from ..services import assessment as svc
from ..services import assessment_entry as entry
from ..services.assessment_xlsx import bulletin_xlsx
from .assessment_schemas import (
    AdjustmentIn,
    AdjustmentOut,
    Bulletin,
    MonthList,
    RulesOut,
    ScoresIn,
    WithdrawOut,
    YearOut,
)
from .bilingual import MESSAGES, Bilingual
from .blueprint import Blueprint
from .context import timezone
from .security import current_actor, requires

blp = Blueprint(
    "assessment", __name__, url_prefix="/api/assessments", description="Monthly assessment 月度考核"
)
T = TypeVar("T")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _write(fn: Callable[[], T]) -> T:
    """Run one write and commit; two offices creating the same month at once: retry once."""
    s = session()
    for attempt in (1, 2):
        try:
            out = fn()
            s.commit()
            return out
        except IntegrityError:
            s.rollback()
            if attempt == 2:
                raise Conflict(current="?") from None
    raise AssertionError("unreachable")  # pragma: no cover


class YearArgs(Bilingual):
    year = fields.Integer(
        required=True,
        validate=validate.Range(
            min=2000, max=2100, error="A year, 2000–2100. 年份应在2000到2100之间。"
        ),
        error_messages={**MESSAGES, "invalid": "Not a whole number. 不是整数。"},
    )


@blp.route("")
class Months(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, MonthList)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Assessed months of a year: published ones (and drafts, for the office)"""
        return {"items": svc.months(session(), current_actor(), args["year"])}


@blp.route("/rules")
class Rules(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.response(200, RulesOut)
    def get(self) -> dict[str, Any]:
        """The Qi county rules: parts and weights, grades, bonus and penalty items 考核办法"""
        return {
            "parts": rules.PARTS,
            "grades": rules.GRADES,
            "adjustments": list(rules.RULES.values()),
            "digital_weights": {k: float(v) for k, v in rules.DIGITAL_WEIGHTS.items()},
        }


@blp.route("/<string:month>")
class Month(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.response(200, Bulletin)
    def get(self, month: str) -> dict[str, Any]:
        """The month's bulletin 月度考核通报: published for all staff, the draft for the office

        Units ranked by weighted monthly score, with each part, the 数字城管 indicators behind
        it, bonus and penalty items with reasons, grade, and the units to be named.
        """
        return svc.bulletin(session(), current_actor(), month, clock.now(), timezone())


@blp.route("/<string:month>/scores")
class Scores(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(ScoresIn)
    @blp.response(200, Bulletin)
    def put(self, data: dict[str, Any], month: str) -> dict[str, Any]:
        """Enter parts for units (专项, 综治, 文明办, 城管办, 创园): all or nothing; office only"""
        actor, now = current_actor(), clock.now()
        _write(lambda: entry.enter_scores(session(), actor, month, data["units"], now))
        return svc.bulletin(session(), actor, month, now, timezone())


@blp.route("/<string:month>/adjustments")
class Adjustments(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(AdjustmentIn)
    @blp.response(201, AdjustmentOut)
    def post(self, data: dict[str, Any], month: str) -> Any:
        """Record a bonus or penalty item with its reason 加分/减分; office only"""
        actor, now = current_actor(), clock.now()
        adj = _write(lambda: entry.add_adjustment(session(), actor, month, now=now, **data))
        rule = rules.RULES[adj.rule]
        return {
            "id": adj.id,
            "month": adj.month,
            "department": data["department"],
            "rule": adj.rule,
            "kind": rule.kind,
            "count": adj.count,
            "points": float(rule.points * adj.count),
            "reason": adj.reason,
        }


@blp.route("/<string:month>/adjustments/<int:adjustment_id>")
class Adjustment(MethodView):
    @requires(Role.ADMIN)
    @blp.response(204)
    def delete(self, month: str, adjustment_id: int) -> None:
        """Remove a bonus or penalty item from a draft; office only"""
        actor, now = current_actor(), clock.now()
        _write(lambda: entry.remove_adjustment(session(), actor, month, adjustment_id, now))


@blp.route("/<string:month>/publish")
class Publish(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, Bulletin)
    def post(self, month: str) -> dict[str, Any]:
        """Publish the month's bulletin (frozen from now on); office only

        Refused while the month runs (409 ``assessment_month_open``), when it is published
        already (409 ``assessment_published``) or a unit misses a part (422
        ``assessment_incomplete``, the missing parts per unit in ``errors``).
        """
        actor, now = current_actor(), clock.now()
        return _write(lambda: entry.publish(session(), actor, month, now, timezone()))


@blp.route("/<string:month>/withdraw")
class Withdraw(MethodView):
    @requires(Role.ADMIN)
    @blp.response(200, WithdrawOut)
    def post(self, month: str) -> dict[str, Any]:
        """Take a published bulletin back to draft to correct it; office only"""
        actor, now = current_actor(), clock.now()
        _write(lambda: entry.withdraw(session(), actor, month, now))
        return {"month": month, "status": svc.DRAFT}


@blp.route("/<string:month>/bulletin.xlsx")
class BulletinXlsx(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.response(200, description="月度考核通报 as an Excel workbook", content_type=XLSX)
    def get(self, month: str) -> Response:
        """The bulletin as .xlsx (月度考核通报), same access as the bulletin"""
        b = svc.bulletin(session(), current_actor(), month, clock.now(), timezone())
        resp = Response(bulletin_xlsx(b), mimetype=XLSX)
        name = f"monthly-assessment-{month}.xlsx"
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp


@blp.route("/years/<int:year>")
class Year(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.response(200, YearOut)
    def get(self, year: int) -> dict[str, Any]:
        """年度考核成绩: each unit's mean of the year's published months, ranked"""
        return svc.year(session(), current_actor(), year)
