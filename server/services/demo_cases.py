"""Demo cases (演示案件): ~300 SYNTHETIC cases of the demo city in every state of the workflow.

The plan (``demo_case_plan``) says who does what when; here it is played, all cases together
in time order, through the real use cases of ``server.services.cases`` with the demo users as
actors and a ``CaseContext`` whose ``now`` is the move's time. So every timestamp, deadline,
traffic light, audit event and 督办 note is exactly what the system would have produced.

Reproducible (``random.Random(DEMO_SEED)``) and idempotent: case ids are uuid5 of their place
in the plan, and a case already in the database is skipped with all its moves.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared_models.enums import CaseState, Role

from ..domain.calendar import WorkCalendar
from ..models import Case, Category, GridCell, User
from . import cases as svc
from . import context
from . import demo_case_texts as txt
from .actor import Actor
from .demo import CITIZEN_PHONES, DEMO_SEED, MERCHANT_PHONES
from .demo_case_paths import DESK, REPORTER, Move, when
from .demo_case_plan import CasePlan, Cell, Limits, World, plan_cases
from .photos import PhotoSettings, store_photo


@dataclass
class Cast:
    """The demo city's people as actors, and the photo pool."""

    by_login: dict[str, Actor]
    by_id: dict[int, Actor]
    handler_of: dict[int, Actor]  # department id → its handler
    photos: dict[tuple[str, int], str]  # (kind, n) → sha256
    desk: list[Actor]


def _actor(u: User) -> Actor:
    return Actor(u.id, Role(u.role), u.department_id, u.display_name)


def _world(s: Session, calendar: WorkCalendar, ctx: context.CaseContext) -> tuple[World, Cast]:
    users = list(s.scalars(select(User).where(User.active.is_(True))))
    cast = Cast(
        by_login={(u.username or u.phone or ""): _actor(u) for u in users},
        by_id={u.id: _actor(u) for u in users},
        handler_of={u.department_id: _actor(u) for u in users
                    if u.role == Role.HANDLER.value and u.department_id is not None},
        photos={},
        desk=sorted((_actor(u) for u in users if u.role == Role.DISPATCHER.value),
                    key=lambda a: a.id or 0),
    )  # fmt: skip
    login_of = {u.id: u.username or u.phone or "" for u in users}
    cells = [
        Cell(c.code, c.name, (c.min_lat, c.min_lon, c.max_lat, c.max_lon), login_of[c.inspector_id])
        for c in s.scalars(select(GridCell).order_by(GridCell.code))
        if c.inspector_id in login_of
    ]
    codes = list(txt.CATEGORIES)
    limits = {
        c.code: Limits({k: float(v) for k, v in c.limits.items()}, c.time_unit)
        for c in s.scalars(select(Category).where(Category.code.in_(codes)))
    }
    missing = [code for code in codes if code not in limits]
    if missing or not cells:
        raise RuntimeError(f"load the demo city first (missing categories {missing} or grid)")
    desk = tuple(login for login, a in cast.by_login.items() if a.role is Role.DISPATCHER)
    world = World(
        cells, limits, CITIZEN_PHONES, MERCHANT_PHONES, tuple(sorted(desk)),
        calendar, ctx.now, ctx.warn_share,
    )  # fmt: skip
    return world, cast


def _store_photos(s: Session, cfg: PhotoSettings, cast: Cast, at: datetime) -> None:
    uploader = cast.by_login["admin"]
    for kind, count in txt.PHOTO_POOL.items():
        for n in range(count):
            photo, _ = store_photo(s, txt.synthetic_photo(kind, n), uploader, cfg, at)
            cast.photos[(kind, n)] = photo.sha256


def _args(move: Move, cast: Cast) -> dict[str, Any]:
    args = dict(move.args)
    if "photos" in args:
        args["photos"] = [cast.photos[ref] for ref in args["photos"]]
    return args


def _play(s: Session, cast: Cast, plan: CasePlan, move: Move, ctx: context.CaseContext) -> None:
    reporter = cast.by_login[plan.reporter]
    who: Actor | None = None
    if move.by == REPORTER:
        who = reporter
    elif move.by == DESK:  # each case has its own dispatcher, as a desk would share the work
        who = cast.desk[int(plan.id[:8], 16) % len(cast.desk)]
    args = _args(move, cast)
    if move.action == "report":
        data = {
            "id": plan.id, "category_code": plan.category, "lat": plan.lat, "lon": plan.lon,
            "address": plan.address, "description": plan.description,
            "photos": args.get("photos", []), "source": plan.source.value,
        }  # fmt: skip
        svc.report(s, reporter, data, ctx)
        return
    case = s.get(Case, plan.id)
    assert case is not None
    if move.action == "rate":
        svc.rate(s, reporter, plan.id, args["stars"], args["comment"], ctx)
    elif move.action == "supervise":
        assert who is not None
        svc.supervise(s, who, plan.id, args["note"], ctx)
    elif move.action == "answer_supervision":
        _answer(s, cast, case, args["answer"], ctx)
    else:
        if who is None:
            who = _holder(cast, case, move.action)
        svc.act(s, who, plan.id, move.action, args, ctx)


def _holder(cast: Cast, case: Case, action: str) -> Actor:
    """Who the case is with: the assigned inspector, or the department's handler."""
    if action in ("verify", "check"):
        assert case.inspector_id is not None
        return cast.by_id[case.inspector_id]
    assert case.department_id is not None
    return cast.handler_of[case.department_id]


def _answer(s: Session, cast: Cast, case: Case, answer: str, ctx: context.CaseContext) -> None:
    from ..models import Supervision

    sup = s.scalar(
        select(Supervision)
        .where(Supervision.case_id == case.id, Supervision.answered_at.is_(None))
        .order_by(Supervision.id.desc())
    )
    handler = cast.handler_of.get(case.department_id or -1)
    if sup is not None and handler is not None and sup.department_id == handler.department_id:
        svc.answer_supervision(s, handler, sup.id, answer, ctx)


def load_demo_cases(
    s: Session,
    photo_cfg: PhotoSettings,
    calendar: WorkCalendar,
    now: datetime,
    config: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Load the demo cases (skipping those already there); returns cases per state.

    ``config`` (the app config) supplies the deadline settings; without it the defaults of
    ``CaseContext`` apply. The caller commits.
    """
    base = (
        context.build(dict(config), now, calendar) if config else context.CaseContext(now, calendar)
    )
    world, cast = _world(s, calendar, base)
    plans = plan_cases(random.Random(DEMO_SEED), world)
    ids = [p.id for p in plans]
    existing = set(s.scalars(select(Case.id).where(Case.id.in_(ids))))
    todo = [p for p in plans if p.id not in existing]
    if todo:
        _store_photos(s, photo_cfg, cast, now - timedelta(days=31))
        moves = sorted(
            ((when(m), i, k, p, m) for i, p in enumerate(todo) for k, m in enumerate(p.moves)),
            key=lambda row: row[:3],
        )
        for at, _, _, plan, move in moves:
            _play(s, cast, plan, move, replace(base, now=at))
    return demo_case_counts(s, ids)


def demo_case_counts(s: Session, ids: list[str]) -> dict[str, int]:
    rows = dict(
        s.execute(
            select(Case.state, func.count()).where(Case.id.in_(ids)).group_by(Case.state)
        ).all()
    )
    return {state.value: int(rows.get(state.value, 0)) for state in CaseState}
