"""docs/case-workflow.md describes the workflow as built: its tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

from server.domain import workflow
from shared_models.enums import FINAL_STATES, STEP_OF_STATE, CaseState, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "case-workflow.md"
DESK = {Role.DISPATCHER.value, Role.ADMIN.value}


def _table(heading: str) -> list[list[str]]:
    """The cells of the first table under ``heading``, header and rule rows left out."""
    text = DOC.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]


def _codes(cell: str) -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", cell))


def _outcomes(action: str, rule: workflow.Rule) -> set[str]:
    if rule.to_state is not None:
        return {rule.to_state.value}
    facts = workflow.CaseFacts(next(iter(rule.from_states)), 1, 1, 7, True)
    role = next(iter(rule.roles))
    return {
        workflow.decide(
            action, facts, role, 7, 1, {"passed": p, "photos": ["x"], "reason": "x"}
        ).to_state.value
        for p in (True, False)
    }


def test_the_transition_table_is_the_rule_set():
    rows = {_codes(r[0]).pop(): r for r in _table("Transitions")}
    assert set(rows) == set(workflow.RULES)
    for action, rule in workflow.RULES.items():
        _, _, froms, roles, condition, evidence, to = rows[action]
        assert _codes(froms) == {s.value for s in rule.from_states}, action
        assert _codes(roles) == {r.value for r in rule.roles}, action
        assert _codes(to) == _outcomes(action, rule), action
        assert ("photo" in evidence) == rule.needs_photo, action
        conditional_reason = workflow._reason_required(action, {"passed": False})
        assert ("reason" in evidence) == (rule.needs_reason or conditional_reason), action
        assert ("own department" in condition) == rule.own_department, action
        assert ("assigned inspector" in condition) == rule.assigned_inspector, action
        reporter_needed = rule.reporter_only or (action == "merge" and set(rule.roles) > DESK)
        assert ("reporter" in condition) == reporter_needed, action


def test_the_state_table_names_every_state_and_its_step():
    rows = {_codes(r[0]).pop(): r for r in _table("States")}
    assert set(rows) == {s.value for s in CaseState}
    for state in CaseState:
        _, _, step, kind = rows[state.value]
        expected = STEP_OF_STATE.get(state)
        assert _codes(step) == ({expected.value} if expected else set()), state
        assert kind == ("final" if state in FINAL_STATES else "open"), state
