"""Queue pages: each role's work lists, with filters, search and keyset pages.

Every list is a ``services.queue.queue`` page (soonest deadline first, ``?after=`` cursor), so
a page costs the same at any queue size; the filters are the API's ``QueueArgs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import render_template, request, url_for
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.enums import CaseSource, CaseState, Light, Role
from shared_models.errors import InvalidInput, NotFound

from ..api.context import case_ctx as case_context
from ..api.pagination import decode_cursor, encode_cursor
from ..api.queue import QueueArgs
from ..db import session as db_session
from ..models import Case, Category, Department
from ..services import queue as queue_svc
from . import bp
from .session import CONSOLE_ROLES, DESK, actor

S = CaseState
HANDLER = frozenset({Role.HANDLER})
ID_RE = re.compile(r"^(?:[0-9a-f]{6,8}|[0-9a-f]{8}-[0-9a-f-]{27})$")


@dataclass(frozen=True)
class ListView:
    key: str
    roles: frozenset[Role]
    states: tuple[CaseState, ...] = ()
    light: Light | None = None
    supervised: bool | None = None


VIEWS = {
    v.key: v
    for v in (
        ListView("new", DESK, (S.REPORTED, S.VERIFYING)),
        ListView("dispatch", DESK, (S.REGISTERED,)),
        ListView("returned", DESK, (S.RETURNED,)),
        ListView("check", DESK, (S.HANDLED,)),
        ListView("todo", HANDLER, (S.DISPATCHED, S.REWORK)),
        ListView("handling", HANDLER, (S.HANDLING,)),
        ListView("overdue", CONSOLE_ROLES, light=Light.RED),
        ListView("yellow", CONSOLE_ROLES, light=Light.YELLOW),
        ListView("supervised", CONSOLE_ROLES, supervised=True),
        ListView("open", CONSOLE_ROLES),
    )
}


class ListArgs(QueueArgs):
    """The API's queue filters plus a search box."""

    q = fields.String(load_default="", validate=validate.Length(max=100))


def _args() -> dict[str, Any]:
    raw = {k: v.strip() for k, v in request.args.items() if k != "state" and v.strip()}
    try:
        return ListArgs().load(raw)  # type: ignore[no-any-return]
    except ValidationError as err:
        raise InvalidInput(errors=err.messages_dict) from None


def views_for(role: Role) -> list[ListView]:
    return [v for v in VIEWS.values() if role in v.roles]


@bp.route("/queue/<view>")
def queue(view: str) -> Any:
    lv = VIEWS.get(view)
    if lv is None or actor().role not in lv.roles:
        raise NotFound()
    s, ctx = db_session(), case_context()
    args = _args()
    q = args["q"]
    rows: list[Case]
    nxt: list[Any] | None = None
    if q and ID_RE.match(q.lower()) and (found := queue_svc.by_id_prefix(s, actor(), q, 50)):
        rows = found
    else:
        f = queue_svc.QueueFilter(
            states=[st.value for st in lv.states] or None,
            light=lv.light or (Light(args["light"]) if args.get("light") else None),
            department=args.get("department"),
            grid=args.get("grid"),
            category=args.get("category"),
            source=args.get("source"),
            supervised=lv.supervised,
            text=q or None,
        )
        after = decode_cursor(args["after"]) if args["after"] else None
        rows, nxt = queue_svc.queue(s, actor(), f, ctx.now, args["limit"], after)
    names = queue_svc.names(s, rows)
    return render_template(
        "console/queue.html",
        view=lv,
        views=views_for(actor().role),
        rows=rows,
        names=names,
        args=args,
        **_pager(lv.key, bool(args["after"]), nxt),
        options=filter_options(s),
        sources=[x.value for x in CaseSource],
        lights=[x.value for x in Light],
        now=ctx.now,
    )


def _pager(view: str, paged: bool, nxt: list[Any] | None) -> dict[str, str | None]:
    """Links to the first page (when not on it) and to the next one, keeping the filters."""
    kept = {k: v for k, v in request.args.items() if k != "after"}
    return {
        "first_url": url_for("console.queue", view=view, **kept) if paged else None,
        "next_url": url_for("console.queue", view=view, **kept, after=encode_cursor(nxt))
        if nxt
        else None,
    }


def filter_options(s: Session) -> dict[str, list[Any]]:
    """Departments and categories for the filter and dispatch menus."""
    return {
        "departments": list(
            s.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.id))
        ),
        "categories": list(
            s.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))
        ),
    }
