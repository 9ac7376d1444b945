"""How a case is shown: the staff view, the reporter's view and the public timeline.

A reporter never sees staff names or other reporters; only the command centre sees who
reported a case and how to reach them. A case with more than one reporter (reports merged into
it) is read by people who did not write its text: its reporters' view, on the phone and over
REST alike (one device record serves them all), then shows the text with phone, e-mail and ID
numbers masked, as Open311 publishes it (``server/domain/privacy.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared_models.enums import CaseState, Role
from shared_models.errors import CgtError

from ..domain import workflow
from ..domain.calendar import light
from ..domain.privacy import mask_contacts
from ..models import Case, CaseEvent, CasePhoto, CaseReporter, Category, Department, User
from ..services import city, city_cache
from ..services.actor import Actor
from ..services.cases import is_reporter
from ..services.city_cache import CategoryInfo
from ..services.visibility import sees_answer

ROLE_LABEL = {
    "citizen": ("Citizen", "市民"),
    "merchant": ("Merchant", "商户"),
    "inspector": ("Inspector", "监督员"),
    "dispatcher": ("Command centre", "指挥中心"),
    "admin": ("Command centre", "指挥中心"),
    "handler": ("Department", "处置单位"),
}
PUBLIC_NOTE_ACTIONS = {"reject", "handle", "reopen", "rate"}
TYPED = ("description", "address", "reject_reason", "rating_comment")  # people's own words


class NamedRef(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class PhotoRef(Schema):
    sha256 = fields.String()
    kind = fields.String()
    url = fields.String()
    thumb_url = fields.String()


class CaseOut(Schema):
    id = fields.String()
    version = fields.Integer()
    state = fields.String()
    source = fields.String()
    category = fields.Nested(NamedRef)
    lat = fields.Float()
    lon = fields.Float()
    coord_system = fields.String()
    address = fields.String()
    grid_code = fields.String(allow_none=True)
    description = fields.String()
    department = fields.Nested(NamedRef, allow_none=True)
    step = fields.String(allow_none=True)
    step_started_at = fields.DateTime(allow_none=True)
    step_deadline = fields.DateTime(allow_none=True)
    light = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    merged_into = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    rating_comment = fields.String(allow_none=True)
    # staff only (absent from a reporter's view)
    verified = fields.Boolean(allow_none=True)
    inspector_id = fields.Integer(allow_none=True)
    rework_count = fields.Integer()
    reopen_count = fields.Integer()
    return_count = fields.Integer()
    routed_department = fields.Nested(NamedRef, allow_none=True)
    reporter = fields.Dict(allow_none=True)
    photos = fields.List(fields.Nested(PhotoRef))
    allowed_actions = fields.List(fields.String())


class TimelineItem(Schema):
    action = fields.String()
    state = fields.String()
    at = fields.DateTime()
    by = fields.String()
    by_zh = fields.String()
    note = fields.String()
    actor_id = fields.Integer(allow_none=True)
    step = fields.String(allow_none=True, metadata={"description": "step this action completed"})
    on_time = fields.Boolean(allow_none=True)
    data = fields.Dict()


def _ref(obj: Category | CategoryInfo | Department | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return {"code": obj.code, "name": obj.name, "name_en": obj.name_en}


def allowed_actions(
    s: Session, case: Case, actor: Actor, reporter: bool | None = None
) -> list[str]:
    """Actions the viewer could take now (evidence aside), from the one rule set."""
    facts = workflow.CaseFacts(
        CaseState(case.state),
        case.version,
        case.department_id,
        case.inspector_id,
        is_reporter(s, case.id, actor.id) if reporter is None else reporter,
    )
    probe = {
        "version": case.version,
        "photos": ["x"],
        "reason": "x",
        "passed": True,
        "confirmed": True,
    }
    out = []
    for action, rule in workflow.RULES.items():
        if actor.role not in rule.roles or facts.state not in rule.from_states:
            continue  # refused by decide() anyway: spare it the raise
        try:
            workflow.decide(action, facts, actor.role, actor.id, actor.department_id, probe)
        except CgtError:
            continue
        out.append(action)
    return out


def photo_refs(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """(sha256, kind) pairs as the links a client fetches them by."""
    return [
        {
            "sha256": sha,
            "kind": kind,
            "url": f"/api/photos/{sha}/content?variant=public",
            "thumb_url": f"/api/photos/{sha}/content?variant=thumb",
        }
        for sha, kind in pairs
    ]


def photos_of(s: Session, case_id: str) -> list[dict[str, str]]:
    rows = s.execute(
        select(CasePhoto.photo_sha256, CasePhoto.kind)
        .where(CasePhoto.case_id == case_id)
        .order_by(CasePhoto.added_at)
    )
    return photo_refs((sha, kind) for sha, kind in rows)


def case_view(
    s: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    detail: bool = True,
    names: dict[str, dict[Any, Any]] | None = None,
    is_reporter: bool | None = None,
    photos: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The case as ``actor`` may see it; ``detail`` adds photos, routing and actions.

    ``is_reporter`` and ``photos`` spare the look-ups when the caller already knows them
    (a case it has just filed).
    """
    if names is not None:
        cat = names["categories"].get(case.category_code)
        dept = names["departments"].get(case.department_id)
    else:
        cat = s.get(Category, case.category_code)
        dept = s.get(Department, case.department_id) if case.department_id else None
    out: dict[str, Any] = {
        "id": case.id,
        "version": case.version,
        "state": case.state,
        "source": case.source,
        "category": _ref(cat),
        "lat": case.lat,
        "lon": case.lon,
        "coord_system": case.coord_system,
        "address": case.address,
        "grid_code": case.grid_code,
        "description": case.description,
        "department": _ref(dept),
        "step": case.step,
        "step_started_at": case.step_started_at,
        "step_deadline": case.step_deadline,
        "light": (lt := light(now, case.step_warn_at, case.step_deadline)) and lt.value,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
        "merged_into": case.merged_into_id,
        "reject_reason": case.reject_reason,
        "rating": case.rating,
        "rating_comment": case.rating_comment,
    }
    staff = actor.role not in (Role.CITIZEN, Role.MERCHANT)
    if not staff:
        out.update(_masked_if_shared(s, case, {k: out[k] for k in TYPED if out[k]}))
    if staff:
        out.update(
            verified=case.verified,
            inspector_id=case.inspector_id,
            rework_count=case.rework_count,
            reopen_count=case.reopen_count,
            return_count=case.return_count,
        )
    if not detail:
        return out
    out["photos"] = photos_of(s, case.id) if photos is None else photos
    out["allowed_actions"] = allowed_actions(s, case, actor, is_reporter)
    if staff and case.state in ("reported", "verifying", "registered", "returned"):
        out["routed_department"] = _ref(city.route(s, case.category_code, case.grid_code))
    if actor.role in (Role.DISPATCHER, Role.ADMIN) and case.reporter_id:
        rep = s.get(User, case.reporter_id)
        if rep is not None:
            out["reporter"] = {"id": rep.id, "display_name": rep.display_name, "phone": rep.phone}
    return out


def _shared(s: Session, case: Any) -> bool:
    """Whether ``case`` has a reporter other than the one who wrote it (a report merged in;
    any reporter of a case filed without one: Open311, the hotline)."""
    others = CaseReporter.case_id == case.id
    if case.reporter_id is not None:
        others &= CaseReporter.user_id != case.reporter_id
    return bool(s.scalar(select(exists().where(others))))


def _masked_if_shared(s: Session, case: Any, texts: dict[str, str]) -> dict[str, str]:
    """``texts`` as a reporter of ``case`` may read them: contacts masked if it is shared."""
    masked = {k: mask_contacts(v) for k, v in texts.items()}
    if masked == texts or not _shared(s, case):  # nothing to mask: no query
        return texts
    grid = city_cache.snapshot(s).grid_codes
    return {k: mask_contacts(v, grid) for k, v in texts.items()}


def timeline(s: Session, case: Case, actor: Actor) -> list[dict[str, Any]]:
    """The audit trail; a reporter gets the public steps without staff identities."""
    staff = actor.role not in (Role.CITIZEN, Role.MERCHANT)
    stmt = select(CaseEvent).where(CaseEvent.case_id == case.id)
    if not staff:
        stmt = stmt.where(CaseEvent.public.is_(True))
    events = list(s.scalars(stmt.order_by(CaseEvent.at, CaseEvent.id)))
    dept_names = {
        d.id: d
        for d in s.scalars(
            select(Department).where(
                Department.id.in_({e.department_id for e in events if e.department_id})
            )
        )
    }
    out = []
    for e in events:
        en, zh = ROLE_LABEL.get(e.actor_role, ("Staff", "工作人员"))
        if e.actor_role == "handler" and e.department_id in dept_names:
            d = dept_names[e.department_id]
            en, zh = d.name_en or d.name, d.name
        if not staff and e.actor_id == actor.id:
            en, zh = "You", "您"
        item: dict[str, Any] = {
            "action": e.action,
            "state": e.to_state,
            "at": e.at,
            "by": en,
            "by_zh": zh,
        }
        if staff:
            item.update(
                note=e.note, actor_id=e.actor_id, data=e.data, step=e.step, on_time=e.on_time
            )
            if e.action == "answer_supervision" and not sees_answer(actor, e.department_id):
                item["note"] = ""  # a unit's answer to the desk is the desk's and that unit's
        elif e.action in PUBLIC_NOTE_ACTIONS and e.actor_id == actor.id:
            item["note"] = e.note
        elif e.action in PUBLIC_NOTE_ACTIONS and e.actor_role not in ("citizen", "merchant"):
            # staff may quote the report; another reporter's words stay theirs
            item["note"] = _masked_if_shared(s, case, {"note": e.note})["note"]
        out.append(item)
    return out
