"""督办 (supervision): the notes the desk wrote on overdue cases, the departments' answers, and
how many supervised cases each responsible unit has."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from shared_models.enums import Role
from shared_models.errors import CgtError, InvalidInput
from shared_models.schemas import NOTE_MAX

from ..api.context import case_ctx, timezone
from ..api.indicators import period_of
from ..api.pagination import decode_cursor, encode_cursor
from ..db import session as db_session
from ..domain.indicators import Period
from ..models import Case, Department
from ..services import cases as case_svc
from ..services import indicator_charts as charts
from ..services import queue as queue_svc
from . import bp
from .i18n import error_text, t
from .session import DESK, actor, safe_next

PAGE = 50


def month_of(text: str) -> Period:
    """The month asked for (YYYY-MM), else the current one."""
    return Period.parse_month(text) if text else period_of({})


@bp.route("/supervision")
def supervision() -> Any:
    s, viewer = db_session(), actor()
    show_all = request.args.get("all") == "1"
    after_arg = request.args.get("after", "")
    after = decode_cursor(after_arg) if after_arg else None
    notes, nxt = queue_svc.supervisions(s, viewer, not show_all, PAGE, after)
    ids = {n.note.case_id for n in notes}
    cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    departments = {d.id: d for d in s.scalars(select(Department))}
    period, counts = None, []
    if viewer.role in DESK:  # the indicator charts' count: notes written in the month
        period = month_of(request.args.get("month", ""))
        counts = charts.supervision_by_unit(s, period, timezone())
    return render_template(
        "console/supervision.html",
        notes=notes,
        cases=cases,
        departments=departments,
        counts=counts,
        period=period,
        # the month asked for travels with the open/all links and the next page
        month=period.label if period and request.args.get("month") else None,
        show_all=show_all,
        next_cursor=encode_cursor(nxt) if nxt else None,
        can_answer=viewer.role in (Role.HANDLER, Role.ADMIN),
        now=case_ctx().now,
    )


@bp.route("/supervisions/<int:supervision_id>/answer", methods=["POST"])
def answer(supervision_id: int) -> Any:
    s = db_session()
    text = request.form.get("answer", "").strip()
    back = safe_next(request.form.get("next")) or url_for("console.supervision")
    try:
        if len(text) > NOTE_MAX:
            raise InvalidInput(errors={"answer": [t("error.too_long", n=NOTE_MAX)]})
        case_svc.answer_supervision(s, actor(), supervision_id, text, case_ctx())
        s.commit()
    except CgtError as err:
        s.rollback()
        flash(error_text(err), "error")
        return redirect(back, code=303)
    flash(t("done.action", action=t("action.answer_supervision")), "ok")
    return redirect(back, code=303)
