"""The plan of the demo cases: who reports what, where, and when each step happens.

Pure and deterministic: the same random generator, city and ``now`` give the same plan.
Times are laid backwards from the moment a case's current step started (its *anchor*), so a
case meant to be yellow or red at ``now`` really is, by the same deadline arithmetic
(``step_times``) the use cases apply when they run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from shared_models.enums import OPEN_STATES, CaseSource, CaseState, Light

from ..domain.calendar import WorkCalendar, light, step_times
from . import demo_case_texts as txt
from .demo_case_paths import (
    DESK,
    REPORTER,
    Move,
    merge_path,
    next_state,
    path_to,
    rating,
    reopened_path,
    step_of,
    when,
)

S = CaseState
N_CASES = 300
N_MERGED = 15
ID_NAMESPACE = uuid.UUID("6f1c2a52-4d0e-5b8e-9c53-0c6a1d2e3f40")
# Every end state once first, so even a tiny city shows all of them; then by weight.
FORCED = [s for s in CaseState if s is not S.MERGED]
END_WEIGHTS = {
    S.CLOSED: 40, S.REJECTED: 6, S.REPORTED: 4, S.VERIFYING: 3, S.REGISTERED: 4,
    S.DISPATCHED: 7, S.HANDLING: 9, S.RETURNED: 3, S.HANDLED: 4, S.CHECKING: 4, S.REWORK: 3,
}  # fmt: skip
SOURCE_WEIGHTS = {CaseSource.CITIZEN: 50, CaseSource.INSPECTOR: 35, CaseSource.HOTLINE: 15}
LIGHT_WEIGHTS = {Light.GREEN: 60, Light.YELLOW: 15, Light.RED: 25}
MIN_GAP = timedelta(minutes=2)
T = TypeVar("T")


@dataclass(frozen=True)
class Cell:
    code: str
    name: str
    bbox: tuple[float, float, float, float]  # min_lat, min_lon, max_lat, max_lon
    inspector: str  # login of the grid's inspector


@dataclass(frozen=True)
class Limits:
    hours: dict[str, float]  # per step
    unit: str  # working | calendar


@dataclass(frozen=True)
class World:
    cells: list[Cell]
    limits: dict[str, Limits]  # per category code
    citizens: tuple[str, ...]
    merchants: tuple[str, ...]
    desk: tuple[str, ...]
    calendar: WorkCalendar
    now: datetime
    warn_share: float


@dataclass
class CasePlan:
    id: str
    target: CaseState
    source: CaseSource
    reporter: str  # login
    category: str
    cell: str
    lat: float
    lon: float
    address: str
    description: str
    moves: list[Move] = field(default_factory=list)


def case_id(index: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"demo-case/{index}"))


def _pick(rng: random.Random, weights: Mapping[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _hours(world: World, category: str, state: CaseState | None) -> float:
    step = step_of(state)
    return world.limits[category].hours.get(step.value, 1.0) if step else 0.0


def _gap(
    rng: random.Random, world: World, plan: CasePlan, move: Move, before: S | None
) -> timedelta:
    """How long before ``move`` the previous move happened."""
    hours = _hours(world, plan.category, before)
    if move.action == "rate":
        gap = rng.uniform(1, 30)
    elif move.action == "reopen":
        gap = rng.uniform(6, 72)
    elif step_of(next_state(before, move)) == step_of(before):  # accept, request_check
        gap = hours * rng.uniform(0.05, 0.3)
    else:  # mostly on time; some steps run late
        gap = hours * (rng.uniform(0.1, 0.8) if rng.random() < 0.85 else rng.uniform(1.1, 2.5))
    return max(timedelta(hours=gap), MIN_GAP)


def _anchor_for(
    rng: random.Random, world: World, plan: CasePlan, state: S, want: Light
) -> datetime:
    """When the current step must have started for the case to show ``want`` at ``now``."""
    limits = world.limits[plan.category]
    hours = _hours(world, plan.category, state)
    delta = timedelta(hours=max(hours * 0.04, 1 / 60))
    found: dict[Light, list[datetime]] = {Light.GREEN: [], Light.YELLOW: []}
    t = world.now - delta
    for _ in range(5000):
        warn_at, deadline = step_times(world.calendar, t, hours, limits.unit, world.warn_share)
        now_light = light(world.now, warn_at, deadline)
        if now_light is Light.RED or now_light is None:
            break
        found[now_light].append(t)
        t -= delta
    if want is Light.RED:
        return t - timedelta(hours=rng.uniform(0, 96))
    pool = found[want] or found[Light.GREEN] or [world.now - delta]
    return rng.choice(pool)


def lay_times(rng: random.Random, world: World, plan: CasePlan, anchor_at: datetime) -> None:
    """Give every move a time: backwards from the anchor, forwards after it, never past now."""
    moves = plan.moves
    states: list[S | None] = [None]
    for m in moves:
        states.append(next_state(states[-1], m))
    anchor = max(i for i in range(len(moves)) if step_of(states[i + 1]) != step_of(states[i]))
    moves[anchor].at = anchor_at
    for i in range(anchor, 0, -1):
        moves[i - 1].at = when(moves[i]) - _gap(rng, world, plan, moves[i], states[i])
    for i in range(anchor + 1, len(moves)):
        prev = when(moves[i - 1])
        at = prev + _gap(rng, world, plan, moves[i], states[i])
        if at >= world.now:
            if moves[i].action == "rate":  # not yet: the citizen has not rated
                del moves[i:]
                return
            at = prev + (world.now - prev) * rng.uniform(0.2, 0.6)
        moves[i].at = at


def _new_plan(
    rng: random.Random, world: World, index: int, target: S, source: CaseSource
) -> CasePlan:
    cell = rng.choice(world.cells)
    min_lat, min_lon, max_lat, max_lon = cell.bbox
    category = rng.choices(list(txt.CATEGORIES), weights=[w for w, _ in txt.CATEGORIES.values()])[0]
    if source is CaseSource.CITIZEN:
        reporter = rng.choice(world.citizens) if rng.random() < 0.8 else rng.choice(world.merchants)
    else:
        reporter = cell.inspector if source is CaseSource.INSPECTOR else rng.choice(world.desk)
    return CasePlan(
        id=case_id(index),
        target=target,
        source=source,
        reporter=reporter,
        category=category,
        cell=cell.code,
        lat=round(min_lat + (max_lat - min_lat) * rng.uniform(0.15, 0.85), 6),
        lon=round(min_lon + (max_lon - min_lon) * rng.uniform(0.15, 0.85), 6),
        address=txt.address(cell.name, rng.choice(txt.LANDMARKS), rng.randint(1, 199)),
        description=txt.description(rng.choice(txt.CATEGORIES[category][1])),
    )


def _supervision(rng: random.Random, world: World, plan: CasePlan, started: datetime) -> None:
    """督办 some overdue cases after their deadline; the department answers some of them. Only
    a case a unit holds: before dispatch none does (``not_dispatched``), and a returned case
    is back with the desk (``returned_to_desk``)."""
    if plan.target is S.RETURNED or not any(move.action == "dispatch" for move in plan.moves):
        return
    limits = world.limits[plan.category]
    hours = _hours(world, plan.category, plan.target)
    _, deadline = step_times(world.calendar, started, hours, limits.unit, world.warn_share)
    last = when(plan.moves[-1])
    base = max(deadline, last)
    if base >= world.now or rng.random() > 0.6:
        return
    at = base + (world.now - base) * rng.uniform(0.1, 0.8)
    plan.moves.append(Move("supervise", {"note": rng.choice(txt.SUPERVISE_NOTES)}, DESK, at))
    if rng.random() < 0.5:
        answer = {"answer": rng.choice(txt.SUPERVISE_ANSWERS)}
        plan.moves.append(Move("answer_supervision", answer, at=at + (world.now - at) * 0.5))


def _main_plan(rng: random.Random, world: World, index: int, target: S, want: Light) -> CasePlan:
    reopened = index == len(FORCED)
    source = CaseSource.CITIZEN if reopened else _pick(rng, SOURCE_WEIGHTS)
    plan = _new_plan(rng, world, index, target, source)
    if reopened:
        plan.moves = reopened_path(rng)
        anchor_at = world.now - timedelta(hours=rng.uniform(20, 40))
    else:
        plan.moves = path_to(rng, target, source)
        if target is S.CLOSED and source is CaseSource.CITIZEN and rng.random() < 0.75:
            plan.moves.append(rating(rng))
        if target in OPEN_STATES:
            anchor_at = _anchor_for(rng, world, plan, target, want)
        else:
            anchor_at = world.now - timedelta(hours=rng.uniform(3, 27 * 24))
    lay_times(rng, world, plan, anchor_at)
    if target in OPEN_STATES and want is Light.RED:
        _supervision(rng, world, plan, anchor_at)
    return plan


def _merged_plan(
    rng: random.Random, world: World, index: int, target: CasePlan, own: bool
) -> CasePlan:
    start = when(target.moves[0]) + timedelta(minutes=30)
    end = world.now - timedelta(minutes=5)
    source = CaseSource.CITIZEN if own else _pick(rng, SOURCE_WEIGHTS)
    plan = _new_plan(rng, world, index, S.MERGED, source)
    plan.category, plan.cell, plan.address = target.category, target.cell, target.address
    plan.lat, plan.lon = round(target.lat + 0.00002, 6), round(target.lon + 0.00002, 6)
    plan.description = txt.description(rng.choice(txt.CATEGORIES[target.category][1]))
    plan.moves = merge_path(rng, source, target.id, REPORTER if own else DESK)
    merge_at = start + (end - start) * rng.uniform(0.1, 1.0)
    report_at = start + (merge_at - start) * rng.uniform(0.0, 0.7)
    plan.moves[0].at, plan.moves[-1].at = report_at, merge_at
    if len(plan.moves) == 3:
        plan.moves[1].at = report_at + (merge_at - report_at) / 2
    return plan


def plan_cases(rng: random.Random, world: World) -> list[CasePlan]:
    """Every demo case with its moves in time order; merged duplicates come last."""
    n_main = N_CASES - N_MERGED
    rest = [_pick(rng, END_WEIGHTS) for _ in range(n_main - len(FORCED) - 1)]
    targets = [*FORCED, S.CLOSED, *rest]  # the one after the forced ones is reopened
    forced_lights = [Light.RED, Light.YELLOW, Light.GREEN] * 3
    plans: list[CasePlan] = []
    for index, target in enumerate(targets):
        want = Light.GREEN
        if target in OPEN_STATES:
            want = forced_lights.pop(0) if forced_lights else _pick(rng, LIGHT_WEIGHTS)
        plans.append(_main_plan(rng, world, index, target, want))
    # Duplicates join cases that have been open a while; always N_MERGED of them, so the set
    # of ids never depends on ``now`` and a later load finds every one in place.
    old_enough = world.now - timedelta(hours=2)
    targets_open = [p for p in plans if p.target in OPEN_STATES and when(p.moves[0]) < old_enough]
    for k in range(N_MERGED):
        joined = rng.choice(targets_open)
        plans.append(_merged_plan(rng, world, n_main + k, joined, own=k == 0))
    return plans
