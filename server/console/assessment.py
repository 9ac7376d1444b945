"""The monthly assessment (月度考核通报) in the console: the ranked table, a printable page,
the .xlsx download, the year's ranking, and — for the office (``admin``) — entering the parts,
bonus and penalty items, publishing and withdrawing.

Every figure and rule is ``services.assessment`` / ``assessment_entry`` (the same as
``/api/assessments``): drafts are the office's, published bulletins every staff member's.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from shared_models.errors import CgtError, InvalidInput

from ..api.context import case_ctx, timezone
from ..db import session as db_session
from ..domain import assessment as rules
from ..domain.indicators import DEFINITIONS, Period
from ..services import assessment as svc
from ..services import assessment_entry as entry
from ..services.assessment_xlsx import bulletin_xlsx
from . import bp
from .i18n import error_text, t
from .lists import filter_options
from .session import actor

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(month: str) -> str:
    Period.parse_month(month)  # 422 on anything but YYYY-MM
    return month


def _year_arg() -> int:
    raw = request.args.get("year", "")
    if not raw:
        return case_ctx().now.astimezone(timezone()).year
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise InvalidInput(errors={"year": ["2000–2100"]})
    return int(raw)


@bp.route("/assessment")
def assessment_year() -> Any:
    s, viewer = db_session(), actor()
    year = _year_arg()
    now = case_ctx().now.astimezone(timezone())
    return render_template(
        "console/assessment_year.html",
        year=year,
        months=svc.months(s, viewer, year),
        ranking=svc.year(s, viewer, year),
        last_month=f"{now.year}-{now.month - 1:02d}" if now.month > 1 else f"{now.year - 1}-12",
        office=svc.is_office(viewer),
    )


def _bulletin(month: str) -> dict[str, Any]:
    ctx = case_ctx()
    return svc.bulletin(db_session(), actor(), _month(month), ctx.now, timezone())


def render_month(month: str, error: CgtError | None = None, status: int = 200) -> Any:
    b = _bulletin(month)
    office = svc.is_office(actor())
    page = render_template(
        "console/assessment_month.html",
        b=b,
        month=month,
        office=office,
        names={u["department"]: u for u in b["units"]},
        definitions=DEFINITIONS,
        digital_weights=rules.DIGITAL_WEIGHTS,
        adjustment_rules=list(rules.RULES.values()),
        entered_parts=[p for p in b["parts"] if p["key"] in rules.ENTERED_PARTS],
        departments=filter_options(db_session())["departments"] if office else [],
        error=error_text(error) if error else None,
        errors_by_field=error.errors if error else {},
    )
    return page, status


@bp.route("/assessment/<month>")
def assessment_month(month: str) -> Any:
    return render_month(month)


@bp.route("/assessment/<month>/print")
def assessment_print(month: str) -> Any:
    b = _bulletin(month)
    return render_template(
        "console/assessment_print.html",
        b=b,
        names={u["department"]: u for u in b["units"]},
        year=month[:4],
        month_no=int(month[5:]),
    )


@bp.route("/assessment/<month>/bulletin.xlsx")
def assessment_xlsx(month: str) -> Response:
    resp = Response(bulletin_xlsx(_bulletin(month)), mimetype=XLSX)
    resp.headers["Content-Disposition"] = f'attachment; filename="monthly-assessment-{month}.xlsx"'
    return resp


def _office_write(month: str, write: Any, done: str) -> Any:
    """Run one of the office's entries; on refusal show the month again with the reason."""
    s = db_session()
    try:
        write(s)
        s.commit()
    except CgtError as err:
        s.rollback()
        return render_month(month, err, err.status)
    flash(t(done), "ok")
    return redirect(url_for("console.assessment_month", month=month), code=303)


def _score_rows() -> list[dict[str, Any]]:
    """The entry table as the service takes it: a cleared cell clears the part."""
    codes = request.form.getlist("department")
    rows = []
    for i, code in enumerate(codes):
        row: dict[str, Any] = {"department": code}
        for key in rules.ENTERED_PARTS:
            value = request.form.get(f"{key}-{i}", "").strip()
            row[key] = value or None
        rows.append(row)
    return rows


@bp.route("/assessment/<month>/scores", methods=["POST"])
def assessment_scores(month: str) -> Any:
    rows = _score_rows()
    return _office_write(
        _month(month),
        lambda s: entry.enter_scores(s, actor(), month, rows, case_ctx().now),
        "assess.saved",
    )


@bp.route("/assessment/<month>/adjustments", methods=["POST"])
def assessment_adjust(month: str) -> Any:
    form = request.form
    raw_count = form.get("count", "1").strip()
    count = int(raw_count) if raw_count.isdigit() else -1

    def write(s: Any) -> None:
        entry.add_adjustment(
            s,
            actor(),
            month,
            form.get("department", ""),
            form.get("rule", ""),
            count,
            form.get("reason", "")[:1000],
            case_ctx().now,
        )

    return _office_write(_month(month), write, "assess.item_added")


@bp.route("/assessment/<month>/adjustments/<int:item>/remove", methods=["POST"])
def assessment_unadjust(month: str, item: int) -> Any:
    return _office_write(
        _month(month),
        lambda s: entry.remove_adjustment(s, actor(), month, item, case_ctx().now),
        "assess.item_removed",
    )


@bp.route("/assessment/<month>/publish", methods=["POST"])
def assessment_publish(month: str) -> Any:
    return _office_write(
        _month(month),
        lambda s: entry.publish(s, actor(), month, case_ctx().now, timezone()),
        "assess.published",
    )


@bp.route("/assessment/<month>/withdraw", methods=["POST"])
def assessment_withdraw(month: str) -> Any:
    return _office_write(
        _month(month),
        lambda s: entry.withdraw(s, actor(), month, case_ctx().now),
        "assess.withdrawn",
    )
