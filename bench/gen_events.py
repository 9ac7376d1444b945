"""Audit trails (``case_events``) for the cases ``bench.gen`` generates, for the indicator bench.

``bench.gen.rows`` is replayed with the same seed, so every case gets the events its row
implies: a closed case was reported, registered, dispatched, accepted, handled, checked
(some fail once and are reworked, some are returned and re-dispatched) and often rated; a
rejected or merged case was reported and then rejected or merged; an open case has the
events up to its state, the last one at its ``step_started_at``. Each step-ending event
carries its step, deadline and ``on_time`` like the real use cases write them (about 90–97 %
on time). Loaded like the cases: indexes dropped, executemany / COPY, indexes rebuilt, ANALYZE.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import make_engine
from server.models import CaseEvent, User
from shared_models.enums import Role

from . import gen

EVENT_COLUMNS = [c.name for c in CaseEvent.__table__.columns if c.name != "id"]
ON_TIME = {"register": 0.96, "verify": 0.95, "dispatch": 0.97, "handle": 0.90, "check": 0.97}
REWORK_SHARE, RETURN_SHARE = 0.10, 0.03
H = timedelta(hours=1)


class Trail:
    """Builds one case's events in time order."""

    def __init__(self, rnd: random.Random, row: tuple[Any, ...], people: People) -> None:
        self.rnd, self.row, self.p = rnd, row, people
        self.events: list[tuple[Any, ...]] = []
        self.state: str | None = None
        self.step_start: datetime = row[19]
        self.dept: int | None = row[13]
        grid_inspector = people.cell_inspector.get(row[9])
        self.inspector = grid_inspector or rnd.choice(people.inspectors)

    def add(self, action: str, to: str, at: datetime, who: str, step: str | None = None,
            data: dict[str, Any] | None = None) -> None:  # fmt: skip
        actor, role, dept = self.p.actor(who, self)
        deadline = on_time = None
        if step is not None:
            deadline, on_time = self._deadline(step, at)
            self.step_start = at
        self.events.append((
            self.row[0], action, self.state, to, actor, role, dept, at, "", step, deadline,
            on_time, json.dumps(data or {}), True,
        ))  # fmt: skip
        self.state = to

    def _deadline(self, step: str, done: datetime) -> tuple[datetime, bool]:
        took = max(done - self.step_start, timedelta(minutes=1))
        if self.rnd.random() < ON_TIME[step]:
            return done + took * self.rnd.uniform(0.05, 1.0), True
        return self.step_start + took * self.rnd.uniform(0.1, 0.9), False


class People:
    """Who acts: the desk, every department's handler, the grid cells' inspectors."""

    def __init__(self, s: Session, city: gen.City) -> None:
        self.desk = list(s.scalars(select(User.id).where(User.role == Role.DISPATCHER.value)))
        self.inspectors = list(s.scalars(select(User.id).where(User.role == Role.INSPECTOR.value)))
        self.cell_inspector = {c[0]: c[6] for c in city.cells if c[6] is not None}
        self.handler = {d: h for d, (h, _) in city.handlers.items()}

    def actor(self, who: str, t: Trail) -> tuple[int | None, str, int | None]:
        if who == "desk":
            return t.rnd.choice(self.desk), Role.DISPATCHER.value, None
        if who == "handler":
            return self.handler.get(t.dept or -1), Role.HANDLER.value, t.dept
        if who == "inspector":
            return t.inspector, Role.INSPECTOR.value, None
        reporter = t.row[12]
        if reporter is not None:
            return reporter, Role.CITIZEN.value, None
        if t.row[3] == "inspector":
            return t.inspector, Role.INSPECTOR.value, None
        return t.rnd.choice(self.desk), Role.DISPATCHER.value, None


def _times(rnd: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    span = end - start
    return [start + span * f for f in sorted(rnd.random() for _ in range(n))]


def _handling(t: Trail, times: list[datetime], rework: bool, end: str) -> None:
    """accept → handle → request_check → check (→ rework → … again), ending at times[-1]."""
    rounds = 2 if rework else 1
    for i in range(rounds):
        t.add("accept", "handling", times.pop(0), "handler")
        t.add("handle", "handled", times.pop(0), "handler", "handle")
        t.add("request_check", "checking", times.pop(0), "desk")
        passed = i == rounds - 1
        to = end if passed else "rework"
        t.add("check", to, times.pop(0), "inspector", "check", {"passed": passed})


def _closed(t: Trail, rnd: random.Random) -> None:
    row = t.row
    created, closed = row[19], row[21]
    rework, ret = rnd.random() < REWORK_SHARE, rnd.random() < RETURN_SHARE
    times = _times(rnd, created, closed, 2 + 2 * ret + 4 * (2 if rework else 1))
    times[-1] = closed
    t.add("register", "registered", times.pop(0), "desk", "register")
    t.add("dispatch", "dispatched", times.pop(0), "desk", "dispatch")
    if ret:
        t.add("return", "returned", times.pop(0), "handler", "handle")
        t.add("dispatch", "dispatched", times.pop(0), "desk", "dispatch")
    _handling(t, times, rework, "closed")
    if row[25] is not None:
        t.add("rate", "closed", closed + H * rnd.uniform(1, 48), "reporter",
              data={"stars": row[25]})  # fmt: skip


# The events that lead an open case into its state; the last one happens at step_started_at.
OPEN_PATHS = {
    "reported": [],
    "verifying": [("request_verify", "verifying", "desk", "register")],
    "registered": [("register", "registered", "desk", "register")],
    "returned": [("register", "registered", "desk", "register"),
                 ("dispatch", "dispatched", "desk", "dispatch"),
                 ("return", "returned", "handler", "handle")],
    "dispatched": [("register", "registered", "desk", "register"),
                   ("dispatch", "dispatched", "desk", "dispatch")],
}  # fmt: skip
OPEN_PATHS["handling"] = OPEN_PATHS["dispatched"]
OPEN_PATHS["handled"] = [*OPEN_PATHS["dispatched"], ("accept", "handling", "handler", None),
                         ("handle", "handled", "handler", "handle")]  # fmt: skip
OPEN_PATHS["checking"] = OPEN_PATHS["handled"]
OPEN_PATHS["rework"] = [*OPEN_PATHS["handled"], ("request_check", "checking", "desk", None),
                        ("check", "rework", "inspector", "check")]  # fmt: skip


def _open(t: Trail, rnd: random.Random, now: datetime) -> None:
    row = t.row
    path = OPEN_PATHS[row[2]]
    started = row[16]
    times = _times(rnd, row[19], started, len(path))
    if path:
        times[-1] = started
    for (action, to, who, step), at in zip(path, times, strict=True):
        data = {"passed": False} if action == "check" else None
        t.add(action, to, at, who, step, data)
    later = started + (min(now, row[18]) - started) * rnd.uniform(0.01, 0.5)
    if row[2] == "handling":
        t.add("accept", "handling", later, "handler")
    elif row[2] == "checking":
        t.add("request_check", "checking", later, "desk")


def trail(rnd: random.Random, row: tuple[Any, ...], people: People, now: datetime) -> Trail:
    t = Trail(rnd, row, people)
    state = row[2]
    t.add("report", "reported", row[19], "reporter")
    if state == "closed":
        _closed(t, rnd)
    elif state == "rejected":
        t.add("reject", "rejected", row[21], "desk", "register")
    elif state == "merged":
        t.add("merge", "merged", row[21], "desk", "register")
    else:
        _open(t, rnd, now)
    return t


def event_rows(
    n: int, now: datetime, city: gen.City, people: People, counts: Counter[str]
) -> Iterator[tuple[Any, ...]]:
    """The events of the ``n`` cases ``gen.rows`` makes with its seed, in EVENT_COLUMNS order."""
    rnd = random.Random(gen.SEED + 1)
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    for row in gen.rows(n, now, city, Counter()):
        for ev in trail(rnd, row, people, naive_now).events:
            counts[ev[1]] += 1
            yield ev


def generate_events(url: str, n: int, now: datetime) -> Counter[str]:
    """Add the audit trails of the ``n`` generated cases to the database at ``url``."""
    engine = make_engine(url)
    with Session(engine) as s:
        city = gen.read_city(s)
        people = People(s, city)
    counts: Counter[str] = Counter()
    rows = event_rows(n, now, city, people, counts)
    gen.bulk_load(engine, CaseEvent.__table__, EVENT_COLUMNS, rows)
    engine.dispose()
    return counts
