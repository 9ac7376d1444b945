"""Case use cases: report (信息采集), workflow actions, merge, rating, reopening, supervision.

Every entry point — REST API, sync mutations, the console, Open311 — calls these, so one rule
set (``server.domain.workflow``) governs them all. Functions flush but never commit: the
caller owns the transaction, so a refused action writes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from shared_models.enums import STEP_OF_STATE, CaseState, PhotoKind, Role
from shared_models.errors import Conflict, Forbidden, InvalidInput

from ..domain import workflow
from ..models import Case, CaseEvent, CaseReporter, Department, Supervision, User
from . import city, city_cache, photos
from .actor import Actor
from .case_intake import (  # noqa: F401  (the intake use case, re-exported)
    ReportOutcome,
    find_candidates,
    report,
    start_step,
)
from .city_cache import CategoryInfo
from .context import CaseContext
from .visibility import load_supervision, load_visible

RATING_ROLES = frozenset({Role.CITIZEN, Role.MERCHANT})
PHOTO_KIND_OF_ACTION = {
    "verify": PhotoKind.VERIFY,
    "handle": PhotoKind.AFTER,
    "check": PhotoKind.CHECK,
    "reopen": PhotoKind.REPORT,
}


def _category(s: Session, code: str) -> CategoryInfo:
    return city_cache.category(s, code)


def _enter(case: Case, to_state: CaseState, cat: CategoryInfo, ctx: CaseContext) -> dict[str, Any]:
    """Move to ``to_state``; restart the step clock when the step changes.

    Returns the completed step's record (step, deadline, on_time) for the audit event.
    """
    old_step, old_deadline = case.step, case.step_deadline
    new_step = STEP_OF_STATE.get(to_state)
    done: dict[str, Any] = {}
    if old_step and (new_step is None or new_step.value != old_step):
        done = {
            "step": old_step,
            "step_deadline": old_deadline,
            "on_time": old_deadline is None or ctx.now <= old_deadline,
        }
    case.state = to_state.value
    if new_step is None:
        case.step = case.step_started_at = case.step_warn_at = case.step_deadline = None
    elif new_step.value != old_step:
        start_step(case, new_step, cat, ctx)
    case.updated_at = ctx.now
    return done


def _event(
    s: Session,
    case: Case,
    actor: Actor,
    action: str,
    from_state: str | None,
    ctx: CaseContext,
    note: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    done: dict[str, Any] | None = None,
) -> CaseEvent:
    ev = CaseEvent(
        case_id=case.id,
        action=action,
        from_state=from_state,
        to_state=case.state,
        actor_id=actor.id,
        actor_role=actor.role.value,
        department_id=actor.department_id,
        at=ctx.now,
        note=note,
        data=data or {},
        public=public,
        **(done or {}),
    )
    s.add(ev)
    s.flush()
    return ev


def is_reporter(s: Session, case_id: str, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return bool(
        s.scalar(
            select(exists().where(CaseReporter.case_id == case_id, CaseReporter.user_id == user_id))
        )
    )


def act(
    s: Session, actor: Actor, case_id: str, action: str, args: dict[str, Any], ctx: CaseContext
) -> Case:
    """Carry out one workflow action; raises a CgtError and writes nothing when refused."""
    case = load_visible(s, actor, case_id)
    facts = workflow.CaseFacts(
        state=CaseState(case.state),
        version=case.version,
        department_id=case.department_id,
        inspector_id=case.inspector_id,
        is_reporter=is_reporter(s, case.id, actor.id),
    )
    decision = workflow.decide(action, facts, actor.role, actor.id, actor.department_id, args)
    cat = _category(s, case.category_code) if action != "register" else None
    from_state = case.state
    data: dict[str, Any] = {}
    note = str(args.get("note") or args.get("reason") or "")
    if action == "merge":
        return _merge(s, actor, case, args, ctx, facts.is_reporter)
    if action in ("request_verify", "request_check"):
        case.inspector_id = _inspector(s, args.get("inspector_id"), case.grid_code)
        data["inspector_id"] = case.inspector_id
    elif action == "verify":
        if "confirmed" not in args:
            raise InvalidInput(errors={"confirmed": ["Required. 请填写核实结果。"]})
        case.verified = bool(args["confirmed"])
        case.inspector_id = None
        data["confirmed"] = case.verified
    elif action == "register":
        cat = _category(s, args.get("category_code") or case.category_code)
        case.category_code = cat.code
    elif action == "reject":
        case.reject_reason = str(args["reason"])[:500]
    elif action == "dispatch":
        dept = _department(s, args.get("department"), case)
        case.department_id = dept.id
        data["department"] = dept.code
    elif action == "return":
        case.return_count += 1
    elif action == "check":
        case.inspector_id = None
        data["passed"] = bool(args["passed"])
        if args["passed"]:
            case.closed_at = ctx.now
        else:
            case.rework_count += 1
    elif action == "reopen":
        if case.closed_at is None or ctx.now - case.closed_at > ctx.reopen_window:
            raise InvalidInput("reopen_window", days=ctx.reopen_window.days)
        case.reopen_count += 1
        case.closed_at = None
        case.rating = case.rating_comment = case.rated_at = None
    assert cat is not None
    done = _enter(case, decision.to_state, cat, ctx)
    shas = list(dict.fromkeys(args.get("photos") or []))
    if shas:
        data["photos"] = shas
    ev = _event(s, case, actor, action, from_state, ctx, note=note, data=data, done=done)
    if shas:
        kind = PHOTO_KIND_OF_ACTION.get(action, PhotoKind.REPORT)
        photos.attach_photos(s, case.id, shas, kind, ev.id, ctx.now)
    _flush_guarded(s, case)
    return case


def _flush_guarded(s: Session, case: Case) -> None:
    """Flush, turning a lost optimistic-concurrency race into a clean 409."""
    try:
        s.flush()
    except StaleDataError:
        s.rollback()
        current = s.scalar(select(Case.version).where(Case.id == case.id))
        raise Conflict(current=current) from None


def _inspector(s: Session, inspector_id: Any, grid_code: str | None) -> int:
    if inspector_id is None:
        inspector_id = city.grid_inspector(s, grid_code) if grid_code else None
    user = s.get(User, inspector_id) if isinstance(inspector_id, int) else None
    if user is None or user.role != Role.INSPECTOR.value or not user.active:
        raise InvalidInput(errors={"inspector_id": ["No such inspector. 无此监督员。"]})
    return user.id


def _department(s: Session, code: Any, case: Case) -> Department:
    if code:
        dept = s.scalar(select(Department).where(Department.code == str(code)))
    else:
        dept = city.route(s, case.category_code, case.grid_code)
    if dept is None or not dept.active:
        raise InvalidInput(
            "unknown_department",
            errors={"department": ["Unknown. 未知单位。"]},
            department=code or "",
        )
    return dept


def _merge(
    s: Session, actor: Actor, case: Case, args: dict[str, Any], ctx: CaseContext, own: bool
) -> Case:
    """Merge ``case`` into ``args['target']``; every reporter then follows the target."""
    target_id = args.get("target")
    if not target_id or target_id == case.id:
        raise InvalidInput(
            "merge_invalid", errors={"target": ["Required. 必填。"]}, detail="choose another case"
        )
    if actor.role not in workflow.DISPATCH_DESK:
        # A reporter may only accept a "same problem?" suggestion the server would make; any
        # other id is refused alike, whether or not it exists, so ids reveal nothing.
        near = {c.id for c, _ in find_candidates(s, case, ctx)}
        if not own or str(target_id) not in near:
            raise Forbidden()
    target = s.get(Case, str(target_id))
    if target is None or target.step_deadline is None:
        raise InvalidInput(
            "merge_invalid",
            errors={"target": ["Not an open case. 非办理中案件。"]},
            detail="the target is not an open case",
        )
    from_state = case.state
    cat = _category(s, case.category_code)
    case.merged_into_id = target.id
    done = _enter(case, CaseState.MERGED, cat, ctx)
    _event(s, case, actor, "merge", from_state, ctx, data={"target": target.id}, done=done)
    known = set(s.scalars(select(CaseReporter.user_id).where(CaseReporter.case_id == target.id)))
    for rep in s.scalars(select(CaseReporter).where(CaseReporter.case_id == case.id)).all():
        if rep.user_id not in known:
            s.add(
                CaseReporter(
                    case_id=target.id,
                    user_id=rep.user_id,
                    reported_at=rep.reported_at,
                    via_case_id=case.id,
                )
            )
    target.updated_at = ctx.now
    _event(s, target, actor, "merge_in", target.state, ctx, data={"source": case.id})
    _flush_guarded(s, case)
    return case


def rate(
    s: Session, actor: Actor, case_id: str, stars: int, comment: str, ctx: CaseContext
) -> Case:
    """A reporting citizen's or merchant's satisfaction rating (满意率) of a closed case, once;
    an inspector who collected the case does not rate the departments' work."""
    case = load_visible(s, actor, case_id)
    if actor.role not in RATING_ROLES or not is_reporter(s, case.id, actor.id):
        raise Forbidden()
    if case.state != CaseState.CLOSED.value or case.closed_at is None:
        raise Conflict("wrong_state", state=case.state, action="rate")
    if case.rating is not None:
        raise Conflict("already_rated")
    if ctx.now - case.closed_at > ctx.rating_window:
        raise InvalidInput("rating_window")
    case.rating, case.rating_comment, case.rated_at = stars, comment[:500], ctx.now
    _event(s, case, actor, "rate", case.state, ctx, note=comment[:500], data={"stars": stars})
    _flush_guarded(s, case)
    return case


def supervise(s: Session, actor: Actor, case_id: str, note: str, ctx: CaseContext) -> Supervision:
    """A 督办 note on an overdue case, addressed to the department that holds it. Before any
    dispatch there is none: the late step is the desk's own (立案, 派遣) or the inspector's
    (核实), which 按时派遣率 and the lights measure, and nobody could answer the note. A
    returned case still names the unit that returned it, but the desk holds it (to dispatch
    again): the same."""
    if actor.role not in workflow.DISPATCH_DESK:
        raise Forbidden()
    case = load_visible(s, actor, case_id)
    if case.step_deadline is None or ctx.now < case.step_deadline:
        raise Conflict("not_overdue")
    if case.department_id is None:
        raise Conflict("not_dispatched")
    if case.state == CaseState.RETURNED:  # the unit handed it back: the desk holds it again
        raise Conflict("returned_to_desk")
    if not note.strip():
        raise InvalidInput("reason_required", errors={"note": ["Required. 必须填写督办意见。"]})
    sup = Supervision(
        case_id=case.id,
        department_id=case.department_id,
        by_id=actor.id or 0,
        note=note,
        created_at=ctx.now,
    )
    s.add(sup)
    _event(s, case, actor, "supervise", case.state, ctx, note=note, public=False)
    return sup


def answer_supervision(
    s: Session, actor: Actor, supervision_id: int, answer: str, ctx: CaseContext
) -> Supervision:
    """A department's answer to a 督办 note addressed to it, while the case is still its own;
    any other note is "not found" (``visibility.supervision_clause``)."""
    if actor.role not in (Role.HANDLER, Role.ADMIN):
        raise Forbidden()
    sup = load_supervision(s, actor, supervision_id)
    if not answer.strip():
        raise InvalidInput("reason_required", errors={"answer": ["Required. 必须填写回复。"]})
    if sup.answered_at is not None:
        raise Conflict("wrong_state", state="answered", action="answer_supervision")
    sup.answer, sup.answered_by, sup.answered_at = answer, actor.id, ctx.now
    case = s.get(Case, sup.case_id)
    assert case is not None
    _event(s, case, actor, "answer_supervision", case.state, ctx, note=answer, public=False)
    return sup
