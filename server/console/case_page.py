"""The case page (案件详情) and the workflow actions taken from it.

Each form carries the case ``version`` the viewer saw; ``services.cases.act`` refuses a stale
one (409 ``version_conflict``) before writing anything, and the page then shows the case as
it is now with a message in both languages. Any refused action re-renders the page with the
reason and the status the API would answer; nothing is half-written (the session rolls back).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from shared_models.enums import CaseState, Role
from shared_models.errors import CgtError, InvalidInput, NotFound
from shared_models.schemas import NOTE_MAX, CaseActionSchema

from ..api.case_views import case_view, photos_of, timeline
from ..api.context import case_ctx
from ..api.photos import send_variant
from ..db import session as db_session
from ..models import Department, Supervision, User
from ..services import cases as case_svc
from ..services import photos as photo_svc
from ..services.visibility import holding_unit, load_visible, sees_answer, supervision_status
from . import bp
from .i18n import both, error_text, t
from .lists import filter_options
from .map_page import case_map
from .session import actor, desk_only

# Workflow actions a console user can take (the others belong to inspectors and reporters).
CONSOLE_ACTIONS = (
    "request_verify",
    "register",
    "reject",
    "dispatch",
    "merge",
    "request_check",
    "accept",
    "return",
    "handle",
)
FORM_FIELDS = ("reason", "note", "department", "category_code", "target")
BEFORE_KINDS = ("report", "verify", "before")


def render_case(case_id: str, error: CgtError | None = None, status: int = 200) -> Any:
    s, viewer, ctx = db_session(), actor(), case_ctx()
    case = load_visible(s, viewer, case_id)
    view = case_view(s, case, viewer, ctx.now)
    photos = [dict(p, console_thumb=_photo_url(p["sha256"], "thumb")) for p in view["photos"]]
    candidates = []
    if "merge" in view["allowed_actions"]:
        for other, distance in case_svc.find_candidates(s, case, ctx):
            shown = [_photo_url(p["sha256"], "thumb") for p in photos_of(s, other.id)]
            candidates.append({"case": other, "distance": distance, "thumbs": shown})
    events = timeline(s, case, viewer)
    actors = {e["actor_id"] for e in events if e.get("actor_id")}
    people = {u.id: u.display_name for u in s.scalars(select(User).where(User.id.in_(actors)))}
    notes = list(
        s.scalars(
            select(Supervision).where(Supervision.case_id == case.id).order_by(Supervision.id)
        )
    )
    # A unit that now holds the case sees earlier notes to other units, not their answers.
    own = {n.id for n in notes if sees_answer(viewer, n.department_id)}
    units = {n.department_id for n in notes} - {None}
    unit_names = {d.id: d for d in s.scalars(select(Department).where(Department.id.in_(units)))}
    conflict = error is not None and error.code == "version_conflict"
    # A returned case still names the unit that said "not ours": do not offer it again.
    returned = next((e for e in reversed(events) if e["action"] == "return"), None)
    returned_by = view["department"] if case.state == "returned" else None
    routed = view.get("routed_department")
    preselect = routed["code"] if routed else ""
    if returned_by and preselect == returned_by["code"]:
        preselect = ""
    page = render_template(
        "console/case.html",
        case=case,
        view=view,
        actions=[a for a in CONSOLE_ACTIONS if a in view["allowed_actions"]],
        before=[p for p in photos if p["kind"] in BEFORE_KINDS],
        after=[p for p in photos if p["kind"] not in BEFORE_KINDS],
        candidates=candidates,
        preselect=preselect,
        returned_by=returned_by,
        return_reason=returned["note"] if returned and returned_by else "",
        events=events,
        people=people,
        supervisions=notes,
        own_notes=own,
        note_status={n.id: supervision_status(n, holding_unit(case)) for n in notes},
        unit_names=unit_names,
        can_answer=viewer.role in (Role.HANDLER, Role.ADMIN),
        overdue=case.step_deadline is not None and ctx.now >= case.step_deadline,
        dispatched=case.department_id is not None,  # a unit holds it: 督办 has someone to ask
        handed_back=case.state == CaseState.RETURNED,  # ... unless it returned the case
        options=(options := filter_options(s)),
        department_by_code={d.code: d for d in options["departments"]},
        map=case_map(s, case),
        error=None if error is None else (both("case.changed") if conflict else error_text(error)),
        conflict=conflict,
        errors_by_field=error.errors if error is not None and not conflict else {},
        now=ctx.now,
        photo_url=_photo_url,
    )
    return page, status


def _photo_url(sha256: str, variant: str) -> str:
    return url_for("console.photo", sha256=sha256, variant=variant)


@bp.route("/cases/<case_id>")
def case(case_id: str) -> Any:
    return render_case(case_id)


def _action_args(action: str) -> dict[str, Any]:
    """The form as the action schema the API validates with."""
    version = request.form.get("version", "").strip()
    if not version.isdigit():
        raise InvalidInput(errors={"version": ["Required. 缺少案件版本。"]})
    raw: dict[str, Any] = {"version": int(version)}
    for key in FORM_FIELDS:
        value = request.form.get(key, "").strip()
        if value:
            raw[key] = value
    if action == "dispatch" and "department" not in raw:
        # The API routes an empty choice; a form always names the unit the desk chose.
        raise InvalidInput(errors={"department": [t("form.choose_department")]})
    try:
        return CaseActionSchema().load(raw)  # type: ignore[no-any-return]
    except ValidationError as err:
        raise InvalidInput(errors=err.messages_dict) from None


def _uploaded_photo() -> list[str]:
    """Store the form's photo (if any) with the photo service; its sha256 as evidence."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return []
    cfg = photo_svc.PhotoSettings.from_config(current_app.config)
    data = upload.stream.read(cfg.max_bytes + 1)
    photo, _ = photo_svc.store_photo(db_session(), data, actor(), cfg, case_ctx().now)
    return [photo.sha256]


@bp.route("/cases/<case_id>/act/<action>", methods=["POST"])
def act(case_id: str, action: str) -> Any:
    if action not in CONSOLE_ACTIONS:
        raise NotFound()
    s = db_session()
    try:
        args = _action_args(action)
        if action == "handle":
            args["photos"] = _uploaded_photo()
        done = case_svc.act(s, actor(), case_id, action, args, case_ctx())
        s.commit()
    except CgtError as err:
        s.rollback()
        return render_case(case_id, err, err.status)
    flash(t("done.action", action=t(f"action.{action}")), "ok")
    target = done.merged_into_id if action == "merge" and done.merged_into_id else done.id
    return redirect(url_for("console.case", case_id=target), code=303)


@bp.route("/cases/<case_id>/supervise", methods=["POST"])
@desk_only
def supervise(case_id: str) -> Any:
    s = db_session()
    note = request.form.get("note", "").strip()
    try:
        if len(note) > NOTE_MAX:
            raise InvalidInput(errors={"note": [t("error.too_long", n=NOTE_MAX)]})
        case_svc.supervise(s, actor(), case_id, note, case_ctx())
        s.commit()
    except CgtError as err:
        s.rollback()
        return render_case(case_id, err, err.status)
    flash(t("done.action", action=t("action.supervise")), "ok")
    return redirect(url_for("console.case", case_id=case_id), code=303)


@bp.route("/photos/<sha256>/<variant>")
def photo(sha256: str, variant: str) -> Response:
    if variant not in {v.value for v in photo_svc.Variant}:
        raise NotFound("photo_not_found")
    return send_variant(sha256, photo_svc.Variant(variant))
