"""Which workflow actions take a demo case to the state it should end in (no times, no I/O).

A path is a list of ``Move``s; times are laid on it by ``demo_case_plan``. ``by`` names who acts
when the plan already knows it ("desk" for the command centre, "reporter"); ``None`` means the
person the case is with at that moment (the assigned inspector, the department's handler).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared_models.enums import STEP_OF_STATE, CaseSource, CaseState, Step

from ..domain.workflow import RULES
from . import demo_case_texts as txt

S = CaseState
DESK, REPORTER = "desk", "reporter"


@dataclass
class Move:
    action: str  # a workflow action, or report / rate / supervise / answer_supervision
    args: dict[str, Any] = field(default_factory=dict)
    by: str | None = None
    at: datetime | None = None


def when(move: Move) -> datetime:
    """The time laid on a move (every move has one once the plan is made)."""
    assert move.at is not None
    return move.at


def photo(rng: random.Random, kind: str) -> list[tuple[str, int]]:
    """A reference into the synthetic photo pool, resolved to a sha256 when the move runs."""
    return [(kind, rng.randrange(txt.PHOTO_POOL[kind]))]


def next_state(state: CaseState | None, move: Move) -> CaseState | None:
    if move.action in ("report", "verify"):
        return S.REPORTED
    if move.action == "check":
        return S.CLOSED if move.args["passed"] else S.REWORK
    rule = RULES.get(move.action)
    return rule.to_state if rule is not None else state


def step_of(state: CaseState | None) -> Step | None:
    return STEP_OF_STATE.get(state) if state is not None else None


def _check(rng: random.Random, passed: bool) -> Move:
    args: dict[str, Any] = {"passed": passed, "photos": photo(rng, "check")}
    if not passed:
        args["reason"] = rng.choice(txt.CHECK_FAILED)
    return Move("check", args)


def _handle(rng: random.Random) -> list[Move]:
    note = rng.choice(txt.HANDLE_NOTES)
    return [
        Move("handle", {"note": note, "photos": photo(rng, "after")}),
        Move("request_check", by=DESK),
    ]


def report_move(rng: random.Random, source: CaseSource) -> Move:
    """An inspector's report always carries a photo, most citizens add one, the hotline none."""
    with_photo = source is CaseSource.INSPECTOR or (
        source is CaseSource.CITIZEN and rng.random() < 0.7
    )
    return Move("report", {"photos": photo(rng, "report")} if with_photo else {})


def _intake(rng: random.Random, target: CaseState, source: CaseSource) -> list[Move]:
    """report → (核实 verify) → 立案 register / 不予立案 reject, or stop on the way."""
    moves = [report_move(rng, source)]
    if target is S.VERIFYING:
        return [*moves, Move("request_verify", by=DESK)]
    verify = source is not CaseSource.INSPECTOR and rng.random() < 0.3
    confirmed = target is not S.REJECTED or rng.random() < 0.3
    if verify:
        args: dict[str, Any] = {"confirmed": confirmed, "note": rng.choice(txt.VERIFY_NOTES)}
        if confirmed:
            args["photos"] = photo(rng, "verify")
        else:
            args["reason"] = "现场未发现该问题"
        moves += [Move("request_verify", by=DESK), Move("verify", args)]
    if target is S.REPORTED:
        return moves
    if target is S.REJECTED:
        return [*moves, Move("reject", {"reason": rng.choice(txt.REJECT_REASONS)}, by=DESK)]
    return [*moves, Move("register", by=DESK)]


def path_to(rng: random.Random, target: CaseState, source: CaseSource) -> list[Move]:
    """The moves from the first report to ``target`` (not ``merged``: see ``merge_path``)."""
    moves = _intake(rng, target, source)
    if target in (S.REPORTED, S.VERIFYING, S.REJECTED, S.REGISTERED):
        return moves
    moves.append(Move("dispatch", by=DESK))
    if target is not S.RETURNED and rng.random() < 0.1:  # not ours: back and dispatched again
        moves += [
            Move("return", {"reason": rng.choice(txt.RETURN_REASONS)}),
            Move("dispatch", by=DESK),
        ]
    if target is S.DISPATCHED:
        return moves
    if target is S.RETURNED:
        if rng.random() < 0.5:
            moves.append(Move("accept"))
        return [*moves, Move("return", {"reason": rng.choice(txt.RETURN_REASONS)})]
    moves.append(Move("accept"))
    if target is S.HANDLING:
        return moves
    moves += _handle(rng)
    if target is S.HANDLED:
        return moves[:-1]
    if target is S.CHECKING:
        return moves
    if target is S.REWORK:
        return [*moves, _check(rng, False)]
    if rng.random() < 0.12:  # 返工 once before it holds
        moves += [_check(rng, False), Move("accept"), *_handle(rng)]
    return [*moves, _check(rng, True)]


def rating(rng: random.Random, stars: int | None = None) -> Move:
    stars = stars or rng.choices((5, 4, 3, 2, 1), weights=(50, 28, 12, 6, 4))[0]
    return Move(
        "rate", {"stars": stars, "comment": rng.choice(txt.RATING_COMMENTS[stars])}, REPORTER
    )


def reopened_path(rng: random.Random) -> list[Move]:
    """Closed, rated low, reopened by the citizen (重新办理), fixed again and rated again."""
    closed = path_to(rng, S.CLOSED, CaseSource.CITIZEN)
    reopen = Move("reopen", {"reason": txt.REOPEN_REASON}, REPORTER)
    again = [Move("accept"), *_handle(rng), _check(rng, True)]
    return [*closed, rating(rng, 2), reopen, *again, rating(rng, 4)]


def merge_path(rng: random.Random, source: CaseSource, target_id: str, by: str) -> list[Move]:
    """A duplicate report joined to an open case, by the desk or by its own reporter."""
    moves = [report_move(rng, source)]
    if by == DESK and rng.random() < 0.3:
        moves.append(Move("register", by=DESK))
    return [*moves, Move("merge", {"target": target_id}, by=by)]
