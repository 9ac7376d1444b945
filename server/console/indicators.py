"""Indicators (考核指标) in the console: every figure with its formula beside it, the charts
the desk looks at (cases per day by source, on-time rates per department, the traffic-light
mix), and a table per area, department or inspector.

The figures are ``services.indicators`` (the same as ``GET /api/indicators``, one rule set);
chart series come from ``services.indicator_charts`` and are drawn in the browser by the
vendored Chart.js from a JSON block in the page (no inline script).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from marshmallow import ValidationError

from shared_models.enums import CaseSource
from shared_models.errors import InvalidInput

from ..api.context import case_ctx, timezone
from ..api.indicators import IndicatorArgs, definitions_for, period_of
from ..db import session as db_session
from ..domain.indicators import COUNTS, DEFINITIONS, Dimension, Period, counts_for
from ..services import indicator_charts as charts
from ..services import indicators as svc
from . import bp
from .i18n import named, pick, t
from .session import DESK, actor

DEPARTMENT_RATES = ("on_time_handle", "closure", "rework", "satisfaction")
ROWS_PER_PAGE = 50  # rows of the breakdown table a page shows (grid cells run to hundreds)


def _args() -> tuple[dict[str, Any], int]:
    """The API's indicator arguments, and the console's own ``page`` of the breakdown."""
    raw = {k: v.strip() for k, v in request.args.items() if v.strip()}
    page = raw.pop("page", "1")
    try:
        args = IndicatorArgs().load(raw)
    except ValidationError as err:
        raise InvalidInput(errors=err.messages_dict) from None
    if not page.isdigit() or not 1 <= int(page) <= 100_000:
        raise InvalidInput(errors={"page": ["Not a page number. 页码无效。"]})
    return args, int(page)


def _table_page(rows: list[Any], page: int) -> dict[str, Any]:
    """One page of the breakdown's rows and the links to the others (filters kept)."""
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    page = min(page, pages)
    keep = {k: v for k, v in request.args.items() if k != "page" and v.strip()}

    def link(n: int) -> str | None:
        return url_for("console.indicators", **keep, page=n) if 1 <= n <= pages else None

    start = (page - 1) * ROWS_PER_PAGE
    return {
        "rows": rows[start : start + ROWS_PER_PAGE],
        "page": page,
        "pages": pages,
        "total": len(rows),
        "prev_url": link(page - 1) if page > 1 else None,
        "next_url": link(page + 1) if page < pages else None,
    }


def chart_series(s: Any, period: Period, by_dept: svc.Report, now: Any) -> dict[str, Any]:
    """What the charts draw, labelled in the viewer's language."""
    daily = charts.cases_per_day(s, period, timezone())
    city, units = charts.light_mix(s, now)
    rates = charts.on_time_by_department(by_dept)
    return {
        "daily": {
            "labels": [d[5:] for d in daily.days],
            "series": [
                {"label": t(f"source.{src}"), "key": src, "data": daily.series.get(src, [])}
                for src in (x.value for x in CaseSource)
            ],
        },
        "departments": {
            "labels": [named({"name": u.name, "name_en": u.name_en}) for u in rates],
            "series": [
                {
                    "label": pick(DEFINITIONS[k].name_zh, DEFINITIONS[k].name_en),
                    "key": k,
                    "data": [u.rates.get(k) for u in rates],
                }
                for k in DEPARTMENT_RATES
            ],
        },
        "lights": {
            "labels": [t("light.red"), t("light.yellow"), t("light.green")],
            "city": [city.red, city.yellow, city.green],
            "units": [named({"name": u.name, "name_en": u.name_en}) for u in units],
            "red": [u.red for u in units],
            "yellow": [u.yellow for u in units],
            "green": [u.green for u in units],
        },
    }


@bp.route("/indicators")
def indicators() -> Any:
    s, viewer, now, tz = db_session(), actor(), case_ctx().now, timezone()
    args, page = _args()
    period = period_of(args)
    allowed = svc.allowed_dimensions(viewer)
    dimension = Dimension(args["dimension"])
    if dimension not in allowed:
        dimension = Dimension.CITY
    city = svc.compute(s, period, Dimension.CITY, now, tz, viewer)
    table = city
    if dimension is not Dimension.CITY:
        table = svc.compute(s, period, dimension, now, tz, viewer)
    series = None
    if viewer.role in DESK:
        by_dept = table if dimension is Dimension.DEPARTMENT else None
        by_dept = by_dept or svc.compute(s, period, Dimension.DEPARTMENT, now, tz, viewer)
        series = chart_series(s, period, by_dept, now)
    return render_template(
        "console/indicators.html",
        period=period,
        args=args,
        dimension=dimension,
        dimensions=[d for d in Dimension if d in allowed],
        city=city.rows[0],
        as_of=city.as_of,
        table=table,
        table_page=_table_page(table.rows, page),
        definitions=definitions_for(Dimension.CITY),
        table_definitions=definitions_for(dimension),
        table_counts=[COUNTS[k] for k in counts_for(dimension)],
        series=series,
    )
