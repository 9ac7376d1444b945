"""The case workflow (数字城管): which role may do which action from which state.

信息采集 report → 核实 verify → 立案 register | 不予立案 reject → 派遣 dispatch → 接单 accept →
处置 handle | 回退 return → 核查 check → 结案 closed | 返工 rework; 合并 merge of duplicates;
citizens 评价 rate and 重新办理 reopen. The service layer loads and saves; this module only
decides, so every entry point (API, sync, console) obeys one rule set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared_models.enums import OPEN_STATES, CaseState, Role
from shared_models.errors import CgtError, Conflict, Forbidden, InvalidInput

S = CaseState
DISPATCH_DESK = frozenset({Role.DISPATCHER, Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    action: str
    from_states: frozenset[CaseState]
    roles: frozenset[Role]
    to_state: CaseState | None  # None: decided by the arguments (verify, check)
    needs_photo: bool = False
    needs_reason: bool = False
    own_department: bool = False  # handler acts only on its department's cases
    assigned_inspector: bool = False  # inspector acts only on tasks assigned to them
    reporter_only: bool = False  # only someone who reported the case


def _rule(
    action: str, froms: set[CaseState], roles: set[Role], to: CaseState | None, **kw: bool
) -> Rule:
    return Rule(action, frozenset(froms), frozenset(roles), to, **kw)


RULES: dict[str, Rule] = {
    r.action: r
    for r in (
        _rule("request_verify", {S.REPORTED}, set(DISPATCH_DESK), S.VERIFYING),
        _rule(
            "verify",
            {S.VERIFYING},
            {Role.INSPECTOR},
            S.REPORTED,
            needs_photo=True,
            assigned_inspector=True,
        ),
        _rule("register", {S.REPORTED, S.VERIFYING}, set(DISPATCH_DESK), S.REGISTERED),
        _rule(
            "reject", {S.REPORTED, S.VERIFYING}, set(DISPATCH_DESK), S.REJECTED, needs_reason=True
        ),
        _rule("dispatch", {S.REGISTERED, S.RETURNED}, set(DISPATCH_DESK), S.DISPATCHED),
        _rule("accept", {S.DISPATCHED, S.REWORK}, {Role.HANDLER}, S.HANDLING, own_department=True),
        _rule(
            "return",
            {S.DISPATCHED, S.HANDLING, S.REWORK},
            {Role.HANDLER},
            S.RETURNED,
            needs_reason=True,
            own_department=True,
        ),
        _rule(
            "handle", {S.HANDLING}, {Role.HANDLER}, S.HANDLED, needs_photo=True, own_department=True
        ),
        _rule("request_check", {S.HANDLED}, set(DISPATCH_DESK), S.CHECKING),
        _rule(
            "check", {S.CHECKING}, {Role.INSPECTOR}, None, needs_photo=True, assigned_inspector=True
        ),
        _rule(
            "merge",
            {S.REPORTED, S.VERIFYING, S.REGISTERED},
            {*DISPATCH_DESK, Role.CITIZEN, Role.MERCHANT, Role.INSPECTOR},
            S.MERGED,
        ),
        _rule(
            "reopen",
            {S.CLOSED},
            {Role.CITIZEN, Role.MERCHANT},
            S.REWORK,
            needs_reason=True,
            reporter_only=True,
        ),
    )
}

ACTIONS = tuple(RULES)


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about a case and the actor's relation to it."""

    state: CaseState
    version: int
    department_id: int | None
    inspector_id: int | None
    is_reporter: bool


@dataclass(frozen=True)
class Decision:
    rule: Rule
    to_state: CaseState


def decide(
    action: str,
    facts: CaseFacts,
    role: Role,
    actor_id: int | None,
    actor_department: int | None,
    args: dict[str, Any],
) -> Decision:
    """Validate ``action`` on a case; return the state it leads to or raise a CgtError."""
    rule = RULES.get(action)
    if rule is None:
        raise InvalidInput(errors={"action": [f"Unknown action '{action}'. 未知操作。"]})
    if role not in rule.roles:
        raise Forbidden()
    if rule.reporter_only and not facts.is_reporter:
        raise Forbidden()
    if action == "merge" and role not in DISPATCH_DESK and not facts.is_reporter:
        raise Forbidden()  # a citizen or inspector may only merge their own report
    if rule.own_department and facts.department_id != actor_department:
        raise Forbidden()
    if rule.assigned_inspector and facts.inspector_id != actor_id:
        raise Forbidden("not_assigned")
    expected = args.get("version")
    if expected is not None and expected != facts.version:
        raise Conflict(current=facts.version)
    if facts.state not in rule.from_states:
        raise Conflict("wrong_state", state=facts.state.value, action=action)
    to_state = rule.to_state or _outcome(action, args)
    needs_photo = rule.needs_photo and _photo_required(action, args)
    if needs_photo and not args.get("photos"):
        raise InvalidInput("evidence_required", errors={"photos": ["Required. 必须上传照片。"]})
    if (rule.needs_reason or _reason_required(action, args)) and not str(
        args.get("reason") or ""
    ).strip():
        raise InvalidInput("reason_required", errors={"reason": ["Required. 必须填写原因。"]})
    return Decision(rule, to_state)


def _outcome(action: str, args: dict[str, Any]) -> CaseState:
    if action == "check":
        if "passed" not in args:
            raise InvalidInput(
                errors={"passed": ["Say whether the check passed. 请填写核查结果。"]}
            )
        return S.CLOSED if args["passed"] else S.REWORK
    raise CgtError()  # pragma: no cover - every rule without to_state is listed above


def _photo_required(action: str, args: dict[str, Any]) -> bool:
    # A verification that finds nothing on site has nothing to photograph.
    return not (action == "verify" and args.get("confirmed") is False)


def _reason_required(action: str, args: dict[str, Any]) -> bool:
    return action == "check" and args.get("passed") is False


def is_open(state: CaseState) -> bool:
    return state in OPEN_STATES
