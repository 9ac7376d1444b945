"""The workflow rules: every action allowed from the right state and role, refused otherwise."""

import pytest

from server.domain.workflow import RULES, CaseFacts, decide
from shared_models.enums import CaseState, Role
from shared_models.errors import Conflict, Forbidden, InvalidInput

DEPT, INSPECTOR = 7, 42
FULL_ARGS = {"photos": ["a" * 64], "reason": "r", "passed": True, "confirmed": True}


def facts(state, **kw):
    base = dict(version=3, department_id=DEPT, inspector_id=INSPECTOR, is_reporter=False)
    base.update(kw)
    return CaseFacts(state=state, **base)


def actor_for(role):
    return {Role.INSPECTOR: INSPECTOR, Role.HANDLER: 1}.get(role, 1), (
        DEPT if role is Role.HANDLER else None
    )


@pytest.mark.parametrize("action", sorted(RULES))
@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("role", list(Role))
def test_matrix(action, state, role):
    rule = RULES[action]
    actor_id, dept = actor_for(role)
    f = facts(state, is_reporter=role in (Role.CITIZEN, Role.MERCHANT, Role.INSPECTOR))
    args = {"version": 3, **FULL_ARGS}
    if role not in rule.roles:  # admin shares the dispatcher's desk, nothing else
        with pytest.raises(Forbidden):
            decide(action, f, role, actor_id, dept, args)
    elif state not in rule.from_states:
        with pytest.raises(Conflict) as err:
            decide(action, f, role, actor_id, dept, args)
        assert err.value.code == "wrong_state"
    else:
        decision = decide(action, f, role, actor_id, dept, args)
        assert decision.to_state == (rule.to_state or CaseState.CLOSED)


def test_stale_version_is_a_conflict_before_anything_else():
    with pytest.raises(Conflict) as err:
        decide("register", facts(CaseState.REPORTED), Role.DISPATCHER, 1, None, {"version": 2})
    assert err.value.code == "version_conflict" and err.value.params["current"] == 3


def test_handler_of_another_department_is_refused():
    with pytest.raises(Forbidden):
        decide("accept", facts(CaseState.DISPATCHED), Role.HANDLER, 1, DEPT + 1, {"version": 3})


def test_inspector_not_assigned_is_refused():
    with pytest.raises(Forbidden) as err:
        decide(
            "check",
            facts(CaseState.CHECKING),
            Role.INSPECTOR,
            99,
            None,
            {"version": 3, **FULL_ARGS},
        )
    assert err.value.code == "not_assigned"


@pytest.mark.parametrize(
    ("action", "state", "role", "args", "code"),
    [
        ("handle", CaseState.HANDLING, Role.HANDLER, {}, "evidence_required"),
        ("check", CaseState.CHECKING, Role.INSPECTOR, {"passed": True}, "evidence_required"),
        ("verify", CaseState.VERIFYING, Role.INSPECTOR, {"confirmed": True}, "evidence_required"),
        ("reject", CaseState.REPORTED, Role.DISPATCHER, {}, "reason_required"),
        ("return", CaseState.HANDLING, Role.HANDLER, {"reason": "  "}, "reason_required"),
        (
            "check",
            CaseState.CHECKING,
            Role.INSPECTOR,
            {"passed": False, "photos": ["a" * 64]},
            "reason_required",
        ),
        ("check", CaseState.CHECKING, Role.INSPECTOR, {"photos": ["a" * 64]}, "validation_failed"),
    ],
)
def test_missing_evidence(action, state, role, args, code):
    actor_id, dept = actor_for(role)
    with pytest.raises(InvalidInput) as err:
        decide(action, facts(state), role, actor_id, dept, {"version": 3, **args})
    assert err.value.code == code


def test_failed_check_goes_to_rework_and_unconfirmed_verify_needs_no_photo():
    d = decide(
        "check",
        facts(CaseState.CHECKING),
        Role.INSPECTOR,
        INSPECTOR,
        None,
        {"version": 3, "passed": False, "reason": "still dirty", "photos": ["a" * 64]},
    )
    assert d.to_state is CaseState.REWORK
    d = decide(
        "verify",
        facts(CaseState.VERIFYING),
        Role.INSPECTOR,
        INSPECTOR,
        None,
        {"version": 3, "confirmed": False},
    )
    assert d.to_state is CaseState.REPORTED


def test_reopen_only_by_the_reporter():
    with pytest.raises(Forbidden):
        decide(
            "reopen",
            facts(CaseState.CLOSED),
            Role.CITIZEN,
            5,
            None,
            {"version": 3, "reason": "not fixed"},
        )
    d = decide(
        "reopen",
        facts(CaseState.CLOSED, is_reporter=True),
        Role.CITIZEN,
        5,
        None,
        {"version": 3, "reason": "not fixed"},
    )
    assert d.to_state is CaseState.REWORK
