"""Cases: report, read, act on, rate, supervise. Views parse, call one use case, present."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared_models.enums import PhotoKind, Role
from shared_models.schemas import CaseActionSchema, CaseReportSchema, RatingSchema

from ..db import session
from ..domain.privacy import mask_contacts
from ..services import case_intake, city_cache
from ..services import cases as svc
from ..services.actor import Actor
from ..services.context import CaseContext
from ..services.visibility import load_visible
from ..sync_publish import queue_new
from .blueprint import Blueprint
from .case_views import CaseOut, TimelineItem, case_view, photo_refs, timeline
from .context import case_ctx
from .security import current_actor, requires
from .sync import report_queued

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Cases 案件")


class Candidate(Schema):
    id = fields.String()
    category_code = fields.String()
    state = fields.String()
    distance_m = fields.Float()
    address = fields.String()
    reported_at = fields.DateTime()


class ReportOut(Schema):
    case = fields.Nested(CaseOut)
    same_problem = fields.List(fields.Nested(Candidate))


class SupervisionIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SupervisionOut(Schema):
    id = fields.Integer()
    case_id = fields.String()
    note = fields.String()
    created_at = fields.DateTime()
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


def _report_once(data: dict[str, Any], ctx: CaseContext) -> svc.ReportOutcome:
    """File through the ORM path: a report with photos, or the answer to an id taken."""
    s, actor = session(), current_actor()
    try:
        out = svc.report(s, actor, data, ctx, fresh=True)
        s.commit()
        return out
    except IntegrityError:
        # The id is taken: a retry of this report (answer like a replay) or a clash (409).
        s.rollback()
        out = svc.report(s, actor, data, ctx)
        s.commit()
        return out


def _file_new(data: dict[str, Any], ctx: CaseContext) -> dict[str, Any] | None:
    """A new report without photos, on the cheap path: filed with no ORM object, queued for
    devices (published behind the answer, rule L-2a) and answered from what was just
    written. None when the id is taken (the caller then answers through ``_report_once``:
    a replay or a clash)."""
    s, actor = session(), current_actor()
    try:
        new, candidates = case_intake.file_new(s, actor, data, ctx)
        queue_new(s, new.case.id)
        grid = city_cache.snapshot(s).grid_codes  # the transaction's copy: no read after
        s.commit()
    except IntegrityError:
        s.rollback()
        return None
    report_queued()
    case = new.case
    known = {
        "names": {"categories": {case.category_code: new.category}, "departments": {}},
        "is_reporter": case.reporter_id is not None,
        "photos": [],
    }
    return _answer(s, case, candidates, actor, ctx, known, grid)


def _answer(
    s: Session,
    case: Any,
    candidates: list[tuple[Any, float]],
    actor: Actor,
    ctx: CaseContext,
    known: dict[str, Any],
    grid_codes: frozenset[str] | None = None,
) -> dict[str, Any]:
    """``ReportOut``'s content: the case as the reporter sees it and the "same problem?" list.
    The candidates are other people's reports: a citizen or shop owner reads their addresses
    with contact data masked, as Open311 publishes them (staff may read those cases anyway).
    ``grid_codes``: the city's grid codes, when the caller has them (else read here)."""
    public = actor.role in (Role.CITIZEN, Role.MERCHANT)
    grid: frozenset[str] = frozenset()
    if public and candidates:
        grid = city_cache.snapshot(s).grid_codes if grid_codes is None else grid_codes
    return {
        "case": case_view(s, case, actor, ctx.now, **known),
        "same_problem": [
            {
                "id": c.id,
                "category_code": c.category_code,
                "state": c.state,
                "distance_m": round(d, 1),
                "address": mask_contacts(c.address, grid) if public else c.address,
                "reported_at": c.created_at,
            }
            for c, d in candidates
        ],
    }


@blp.route("")
class CaseIntake(MethodView):
    @requires()
    @blp.arguments(CaseReportSchema())  # one instance: building it costs more than a load
    @blp.response(201, ReportOut)
    @blp.alt_response(200, schema=ReportOut, description="the same report was already received")
    def post(self, data: dict[str, Any]) -> Any:
        """Report a problem 上报问题

        Idempotent on the client-generated ``id``: sending the same report again returns the
        case (200) instead of a second one. ``same_problem`` lists open cases of the same
        category nearby, which the reporter may join with the ``merge`` action.
        """
        data["id"] = str(data["id"])
        ctx = case_ctx()
        if not data["photos"]:
            body = _file_new(data, ctx)
            if body is not None:
                # ``ReportOut``'s dump of this body is the body with its datetimes as ISO
                # 8601 text (tests/api/test_intake_answer.py): made here without marshmallow,
                # by orjson, which writes datetimes as ``isoformat`` does
                return Response(orjson.dumps(body), 201, mimetype="application/json")
        out = _report_once(data, ctx)
        known: dict[str, Any] = {}
        if out.created:  # what was just written need not be read back
            shas = dict.fromkeys(p.lower() for p in data["photos"])
            known = {
                "names": {"categories": {out.case.category_code: out.category}, "departments": {}},
                "is_reporter": out.case.reporter_id is not None,
                "photos": photo_refs((sha, PhotoKind.REPORT.value) for sha in shas),
            }
        body = _answer(session(), out.case, out.candidates, current_actor(), ctx, known)
        return body, (201 if out.created else 200)


@blp.route("/<string:case_id>")
class CaseDetail(MethodView):
    @requires()
    @blp.response(200, CaseOut)
    def get(self, case_id: str) -> dict[str, Any]:
        """One case as the viewer may see it 案件详情"""
        actor, s = current_actor(), session()
        return case_view(s, load_visible(s, actor, case_id), actor, case_ctx().now)


@blp.route("/<string:case_id>/timeline")
class CaseTimeline(MethodView):
    @requires()
    @blp.response(200, TimelineItem(many=True))
    def get(self, case_id: str) -> list[dict[str, Any]]:
        """The case's history; reporters see the public steps only 办理进度"""
        actor, s = current_actor(), session()
        return timeline(s, load_visible(s, actor, case_id), actor)


@blp.route("/<string:case_id>/actions/<string:action>")
class CaseAction(MethodView):
    @requires()
    @blp.arguments(CaseActionSchema)
    @blp.response(200, CaseOut)
    def post(self, args: dict[str, Any], case_id: str, action: str) -> dict[str, Any]:
        """Take a workflow action on a case 案件操作

        Actions: request_verify, verify, register, reject, dispatch, accept, return, handle,
        request_check, check, merge, reopen. ``version`` must be the version the caller
        saw; if the case changed meanwhile the answer is 409 and nothing is written.
        """
        actor, s, ctx = current_actor(), session(), case_ctx()
        case = svc.act(s, actor, case_id, action, args, ctx)
        s.commit()
        return case_view(s, case, actor, ctx.now)


@blp.route("/<string:case_id>/rating")
class CaseRating(MethodView):
    @requires()
    @blp.arguments(RatingSchema)
    @blp.response(200, CaseOut)
    def post(self, data: dict[str, Any], case_id: str) -> dict[str, Any]:
        """Rate the result of a closed case you reported 评价"""
        actor, s, ctx = current_actor(), session(), case_ctx()
        case = svc.rate(s, actor, case_id, data["stars"], data["comment"], ctx)
        s.commit()
        return case_view(s, case, actor, ctx.now)


@blp.route("/<string:case_id>/supervisions")
class CaseSupervision(MethodView):
    @requires()
    @blp.arguments(SupervisionIn)
    @blp.response(201, SupervisionOut)
    def post(self, data: dict[str, Any], case_id: str) -> Any:
        """Supervise an overdue case with a note the department must answer 督办"""
        actor, s, ctx = current_actor(), session(), case_ctx()
        sup = svc.supervise(s, actor, case_id, data["note"], ctx)
        s.commit()
        return sup
