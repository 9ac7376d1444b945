"""Lists: the command centre's queue, the overdue list, my reports, an inspector's tasks,
supervision notes. Every list is keyset-paginated: ``?limit=&after=`` → ``{items, next}``."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared_models.enums import CaseSource, CaseState, Light, Role
from shared_models.schemas import NOTE_MAX

from ..db import session
from ..services import cases as case_svc
from ..services import queue as svc
from .blueprint import Blueprint
from .case_views import CaseOut, case_view
from .cases import SupervisionOut
from .context import case_ctx
from .pagination import PageArgs, decode_cursor, encode_cursor, page_schema
from .security import current_actor, requires

blp = Blueprint("queue", __name__, url_prefix="/api", description="Queues and lists 案件列表")


class SupervisionItem(SupervisionOut):
    status = fields.String(
        metadata={
            "description": "awaiting (an answer), answered, or superseded (nobody is to "
            "answer it: 已改派, the case was dispatched to another unit before the addressed "
            "one answered; or a note written before dispatch, to no unit, under the old rule)"
        }
    )


CasePage = page_schema(CaseOut, "CasePage")
SupervisionPage = page_schema(SupervisionItem, "SupervisionPage")


class QueueArgs(PageArgs):
    state = fields.List(
        fields.String(validate=validate.OneOf([s.value for s in CaseState])), load_default=None
    )
    light = fields.String(load_default=None, validate=validate.OneOf([x.value for x in Light]))
    department = fields.String(load_default=None, validate=validate.Length(max=32))
    grid = fields.String(load_default=None, validate=validate.Length(max=15))
    category = fields.String(load_default=None, validate=validate.Length(max=16))
    source = fields.String(
        load_default=None, validate=validate.OneOf([x.value for x in CaseSource])
    )
    supervised = fields.Boolean(load_default=None)


class SupervisionArgs(PageArgs):
    open = fields.Boolean(
        load_default=True, metadata={"description": "only notes awaiting an answer"}
    )


class AnswerIn(Schema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=NOTE_MAX))


def _listed(n: svc.ListedNote) -> dict[str, Any]:
    sup = n.note
    return {
        "id": sup.id,
        "case_id": sup.case_id,
        "note": sup.note,
        "created_at": sup.created_at,
        "answer": sup.answer,
        "answered_at": sup.answered_at,
        "status": n.status,
    }


def _case_page(rows: list[Any], nxt: list[Any] | None) -> dict[str, Any]:
    s, actor, now = session(), current_actor(), case_ctx().now
    names = svc.names(s, rows)
    return {
        "items": [case_view(s, c, actor, now, detail=False, names=names) for c in rows],
        "next": encode_cursor(nxt) if nxt else None,
    }


def _queue(args: dict[str, Any], **forced: Any) -> dict[str, Any]:
    after = decode_cursor(args["after"]) if args["after"] else None
    f = svc.QueueFilter(
        states=args.get("state"),
        light=Light(args["light"]) if args.get("light") else None,
        department=args.get("department"),
        grid=args.get("grid"),
        category=args.get("category"),
        source=args.get("source"),
        supervised=args.get("supervised"),
    )
    for key, value in forced.items():
        setattr(f, key, value)
    rows, nxt = svc.queue(session(), current_actor(), f, case_ctx().now, args["limit"], after)
    return _case_page(rows, nxt)


@blp.route("/queue")
class Queue(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open cases in deadline order, filtered by state, light, department, grid, category

        Handlers see their department's cases; inspectors their grid and tasks.
        """
        return _queue(args)


@blp.route("/queue/overdue")
class Overdue(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER, Role.INSPECTOR)
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Overdue (red) cases, most overdue first 超时案件"""
        return _queue(args, light=Light.RED)


@blp.route("/tasks")
class Tasks(MethodView):
    @requires(Role.INSPECTOR)
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My verify and check tasks, soonest deadline first 我的核实核查任务"""
        return _queue(args, tasks=True)


@blp.route("/my/cases")
class MyCases(MethodView):
    @requires()
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cases I reported, newest first 我的上报"""
        after = decode_cursor(args["after"]) if args["after"] else None
        rows, nxt = svc.my_cases(session(), current_actor(), args["limit"], after)
        return _case_page(rows, nxt)


@blp.route("/supervisions")
class Supervisions(MethodView):
    @requires(Role.DISPATCHER, Role.HANDLER)
    @blp.arguments(SupervisionArgs, location="query")
    @blp.response(200, SupervisionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """督办 notes; a department sees those addressed to it"""
        after = decode_cursor(args["after"]) if args["after"] else None
        rows, nxt = svc.supervisions(session(), current_actor(), args["open"], args["limit"], after)
        return {"items": [_listed(n) for n in rows], "next": encode_cursor(nxt) if nxt else None}


@blp.route("/supervisions/<int:supervision_id>/answer")
class SupervisionAnswer(MethodView):
    @requires(Role.HANDLER)
    @blp.arguments(AnswerIn)
    @blp.response(200, SupervisionOut)
    def post(self, data: dict[str, Any], supervision_id: int) -> Any:
        """Answer a 督办 note addressed to my department 回复督办"""
        s, ctx = session(), case_ctx()
        sup = case_svc.answer_supervision(s, current_actor(), supervision_id, data["answer"], ctx)
        s.commit()
        return sup
