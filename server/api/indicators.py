"""Indicators (考核指标) over HTTP: figures with their formulas, per area, unit, inspector or city.

``GET /api/indicators?month=2026-11&dimension=department`` (or ``from=&to=`` local dates,
``to`` exclusive). Definitions and edge cases: docs/indicators.md.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared_models.enums import Role

from .. import clock
from ..db import session
from ..domain.indicators import COUNTS, DEFINITIONS, ORDER, Definition, Dimension, Period
from ..services import indicators as svc
from .bilingual import Bilingual
from .blueprint import Blueprint
from .context import timezone
from .security import current_actor, requires

DATE = "A date as YYYY-MM-DD. 日期格式应为YYYY-MM-DD。"
blp = Blueprint(
    "indicators", __name__, url_prefix="/api/indicators", description="Indicators 考核指标"
)


class PeriodArgs(Bilingual):
    month = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^\d{4}-\d{2}$", error="A month as YYYY-MM. 月份格式应为YYYY-MM。"
        ),
        metadata={"description": "a calendar month, YYYY-MM (default: the current month)"},
    )
    from_ = fields.Date(
        data_key="from",
        load_default=None,
        error_messages={"invalid": DATE},
        metadata={"description": "first local day"},
    )
    to = fields.Date(
        load_default=None,
        error_messages={"invalid": DATE},
        metadata={"description": "local day after the last"},
    )

    @validates_schema
    def _one_period(self, data: dict[str, Any], **_: Any) -> None:
        has_range = data.get("from_") is not None or data.get("to") is not None
        if data.get("month") and has_range:
            raise ValidationError(
                "Give a month or from/to, not both. 请只填月份或起止日期。", "month"
            )
        if has_range and (data.get("from_") is None or data.get("to") is None):
            raise ValidationError("Give both from and to. 请同时填写起止日期。", "to")


class IndicatorArgs(PeriodArgs):
    dimension = fields.String(
        load_default=Dimension.CITY.value,
        validate=validate.OneOf(
            [d.value for d in Dimension], error="Unknown breakdown. 未知统计维度。"
        ),
        metadata={"description": "city, district, street, community, grid, department, inspector"},
    )


def period_of(args: dict[str, Any]) -> Period:
    """The period a request asks for; the current local month when it names none."""
    if args.get("month"):
        return Period.parse_month(args["month"])
    if args.get("from_") is not None:
        return Period(args["from_"], args["to"])
    today = clock.now().astimezone(timezone()).date()
    return Period.month(today.year, today.month)


class IndicatorPeriod(Schema):
    from_ = fields.Date(data_key="from", attribute="start")
    to = fields.Date(attribute="end")
    label = fields.String()


class IndicatorDefinition(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    formula_zh = fields.String()
    formula_en = fields.String()
    numerator = fields.List(fields.String(), metadata={"description": "count keys summed"})
    denominator = fields.List(fields.String(), metadata={"description": "count keys summed"})
    note_zh = fields.String()
    note_en = fields.String()
    lower_is_better = fields.Boolean(attribute="complement")
    dimensions = fields.Function(lambda d: sorted(x.value for x in d.dimensions))


class IndicatorCount(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


class IndicatorFigure(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "percent; null: no cases"})
    numerator = fields.Integer()
    denominator = fields.Integer()


class IndicatorRow(Schema):
    key = fields.String(
        metadata={
            "description": "area or grid code, department code, inspector username, or 'city'"
        }
    )
    name = fields.String()
    name_en = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    figures = fields.Dict(keys=fields.String(), values=fields.Nested(IndicatorFigure))


class IndicatorReport(Schema):
    period = fields.Nested(IndicatorPeriod)
    dimension = fields.String()
    as_of = fields.DateTime(
        metadata={
            "description": "steps due before this and not done are "
            "overdue; closure is counted up to it"
        }
    )
    definitions = fields.List(fields.Nested(IndicatorDefinition))
    counts = fields.List(fields.Nested(IndicatorCount))
    rows = fields.List(fields.Nested(IndicatorRow))


def definitions_for(dimension: Dimension | None = None) -> list[Definition]:
    return [
        DEFINITIONS[k] for k in ORDER if dimension is None or dimension in DEFINITIONS[k].dimensions
    ]


def report_view(report: svc.Report) -> dict[str, Any]:
    count_keys = report.rows[0].counts if report.rows else {}
    return {
        "period": report.period,
        "dimension": report.dimension.value,
        "as_of": report.as_of,
        "definitions": definitions_for(report.dimension),
        "counts": [COUNTS[k] for k in COUNTS if k in count_keys],
        "rows": report.rows,
    }


@blp.route("")
class Indicators(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.arguments(IndicatorArgs, location="query")
    @blp.response(200, IndicatorReport)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Indicators of a period, per city, district, street, community, grid, unit or inspector

        Each figure comes with its numerator and denominator; ``definitions`` gives each
        formula in Chinese and English. ``value`` is null when nothing happened. The command
        centre sees every breakdown; a department handler the city and its own unit; an
        inspector the city and themselves.
        """
        period = period_of(args)
        report = svc.compute(
            session(),
            period,
            Dimension(args["dimension"]),
            clock.now(),
            timezone(),
            current_actor(),
        )
        return report_view(report)


class IndicatorDefinitions(Schema):
    definitions = fields.List(fields.Nested(IndicatorDefinition))
    counts = fields.List(fields.Nested(IndicatorCount))


@blp.route("/definitions")
class Definitions(MethodView):
    @requires()
    @blp.response(200, IndicatorDefinitions)
    def get(self) -> dict[str, Any]:
        """Every indicator's formula (zh/en) and the counts it is made of 指标定义"""
        return {"definitions": definitions_for(), "counts": list(COUNTS.values())}


__all__ = ["PeriodArgs", "blp", "period_of", "report_view"]
