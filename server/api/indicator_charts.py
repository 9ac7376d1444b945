"""Chart data for the command centre's screen (指挥中心大屏): one endpoint per chart."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared_models.enums import Role

from .. import clock
from ..db import session
from ..domain.indicators import Dimension
from ..services import indicator_charts as charts
from ..services import indicators as svc
from .bilingual import Bilingual
from .blueprint import Blueprint
from .context import timezone
from .indicators import IndicatorPeriod, PeriodArgs, period_of
from .security import requires

blp = Blueprint(
    "indicator_charts",
    __name__,
    url_prefix="/api/indicators/charts",
    description="Indicator charts 指标图表 (command centre)",
)


class DailyCasesChart(Schema):
    period = fields.Nested(IndicatorPeriod)
    days = fields.List(fields.String(), metadata={"description": "local dates"})
    series = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Integer()),
        metadata={"description": "source → new cases per day (merged duplicates left out)"},
    )
    total = fields.Integer()


class UnitRatesChart(Schema):
    key = fields.String()
    name = fields.String()
    name_en = fields.String()
    rates = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "each rate's denominator"},
    )


class OnTimeChart(Schema):
    period = fields.Nested(IndicatorPeriod)
    units = fields.List(fields.Nested(UnitRatesChart))


class LightCount(Schema):
    key = fields.String(
        allow_none=True, metadata={"description": "department code; null: not yet dispatched"}
    )
    name = fields.String()
    name_en = fields.String()
    red = fields.Integer()
    yellow = fields.Integer()
    green = fields.Integer()
    total = fields.Integer()


class LightsChart(Schema):
    as_of = fields.DateTime()
    city = fields.Nested(LightCount)
    units = fields.List(fields.Nested(LightCount))


class OpenCasePoint(Schema):
    id = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    light = fields.String()
    state = fields.String()
    category = fields.String()
    department = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)


class OpenCasesCell(Schema):
    grid = fields.String()
    name = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    bbox = fields.List(
        fields.Float(), metadata={"description": "min_lat, min_lon, max_lat, max_lon"}
    )
    red = fields.Integer()
    yellow = fields.Integer()
    green = fields.Integer()


class OpenCasesMap(Schema):
    as_of = fields.DateTime()
    coord_system = fields.Constant("wgs84")
    total = fields.Integer()
    truncated = fields.Boolean()
    points = fields.List(fields.Nested(OpenCasePoint))
    cells = fields.List(fields.Nested(OpenCasesCell))


class MapArgs(Bilingual):
    limit = fields.Integer(
        load_default=2000,
        validate=validate.Range(
            min=1, max=charts.MAP_POINTS_MAX, error="From 1 to 5000. 应为1到5000。"
        ),
        error_messages={"invalid": "Not a whole number. 不是整数。"},
    )


class SupervisionUnitCount(Schema):
    key = fields.String(
        allow_none=True,
        metadata={"description": "the unit's code; null: notes to no unit (指挥中心（未派遣）)"},
    )
    name = fields.String()
    name_en = fields.String()
    notes = fields.Integer()
    cases = fields.Integer()
    answered = fields.Integer()
    open_now = fields.Integer(metadata={"description": "awaiting an answer now"})
    superseded = fields.Integer(
        metadata={
            "description": "unanswered when the case was dispatched elsewhere (已改派), or "
            "written to no unit before dispatch under the old rule"
        }
    )


class SupervisionChart(Schema):
    period = fields.Nested(IndicatorPeriod)
    units = fields.List(fields.Nested(SupervisionUnitCount))


@blp.route("/daily")
class Daily(MethodView):
    @requires(Role.DISPATCHER)
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, DailyCasesChart)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """New cases per day by source 每日案件来源"""
        period = period_of(args)
        daily = charts.cases_per_day(session(), period, timezone())
        return {"period": period, "days": daily.days, "series": daily.series, "total": daily.total}


@blp.route("/on-time")
class OnTime(MethodView):
    @requires(Role.DISPATCHER)
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, OnTimeChart)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """On-time handling, closure, rework and satisfaction per department 各单位按时率"""
        period = period_of(args)
        report = svc.compute(session(), period, Dimension.DEPARTMENT, clock.now(), timezone())
        return {"period": period, "units": charts.on_time_by_department(report)}


@blp.route("/lights")
class Lights(MethodView):
    @requires(Role.DISPATCHER)
    @blp.response(200, LightsChart)
    def get(self) -> dict[str, Any]:
        """Open cases by traffic light, city-wide and per unit 红黄绿灯分布"""
        now = clock.now()
        city, units = charts.light_mix(session(), now)
        return {"as_of": now, "city": city, "units": units}


@blp.route("/map")
class Map(MethodView):
    @requires(Role.DISPATCHER)
    @blp.arguments(MapArgs, location="query")
    @blp.response(200, OpenCasesMap)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open cases on the map: the most overdue points and per-cell light counts 案件分布"""
        now = clock.now()
        m = charts.open_map(session(), now, args["limit"])
        return {
            "as_of": now,
            "total": m.total,
            "truncated": m.truncated,
            "points": m.points,
            "cells": m.cells,
        }


@blp.route("/supervision")
class SupervisionPerUnit(MethodView):
    @requires(Role.DISPATCHER)
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, SupervisionChart)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """督办 notes per responsible unit in a period 督办统计"""
        period = period_of(args)
        return {
            "period": period,
            "units": charts.supervision_by_unit(session(), period, timezone()),
        }
