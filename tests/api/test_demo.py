"""`cgt load-demo`: the demo case queue shows every state, is reproducible and loads once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from server.db import database
from server.domain.calendar import light
from server.models import Case, CaseEvent, Supervision
from shared_models.enums import OPEN_STATES, CaseState, Light
from tests.search_index import assert_index_is_exact, queued


def _load(runner) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["cgt", "load-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def _counts(output: str) -> dict[str, int]:
    rows = (line.split() for line in output.splitlines() if line.startswith("  "))
    return {row[0]: int(row[1]) for row in rows}


def _totals(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with database(app).session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(t)) for t in (Case, CaseEvent, Supervision)
        )


def test_load_demo_twice_gives_one_queue_in_every_state(app, runner, clock):
    first = _counts(_load(runner))
    totals = _totals(app)
    clock.advance(days=1)  # a later run (another day's `make run`) adds nothing either
    assert _counts(_load(runner)) == first
    assert _totals(app) == totals
    assert set(first) >= {s.value for s in CaseState} and 250 <= first["total"] <= 300
    assert all(first[s.value] > 0 for s in CaseState), first
    engine = database(app).engine
    if engine.dialect.name == "sqlite":  # the open cases are indexed for search already
        assert queued(str(engine.url.database)) == []
        assert assert_index_is_exact(str(engine.url.database)) > 0

    now = clock.now - timedelta(days=1)  # the first load's now
    with database(app).session() as s:
        cases = list(s.scalars(select(Case)))
        lights = {light(now, c.step_warn_at, c.step_deadline) for c in cases}
        assert {Light.RED, Light.YELLOW, Light.GREEN} <= lights
        for c in cases:
            state = CaseState(c.state)
            assert (c.closed_at is not None) == (state is CaseState.CLOSED), c.id
            assert (c.merged_into_id is not None) == (state is CaseState.MERGED), c.id
            assert (c.step_deadline is not None) == (state in OPEN_STATES), c.id
            assert now - timedelta(days=40) < c.created_at <= now
            if c.rating is not None:
                assert state is CaseState.CLOSED and c.rated_at >= c.closed_at
        merged = [c for c in cases if c.merged_into_id]
        assert all(s.get(Case, c.merged_into_id) is not None for c in merged)
        assert any(c.reopen_count for c in cases) and any(c.rating for c in cases)
        assert any(c.rework_count for c in cases) and any(c.return_count for c in cases)
        assert {c.source for c in cases} >= {"citizen", "inspector", "hotline"}

        sups = list(s.scalars(select(Supervision)))
        assert sups and any(x.answered_at for x in sups) and any(not x.answered_at for x in sups)
        # The audit trail is genuine: in order, never in the future, one report per case.
        events = list(s.scalars(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.id)))
        assert max(e.at for e in events) <= now
        reports = [e.case_id for e in events if e.action == "report"]
        assert sorted(reports) == sorted(c.id for c in cases)
        for a, b in zip(events, events[1:], strict=False):
            if a.case_id == b.case_id:
                assert a.at <= b.at, (a.case_id, a.action, b.action)
