"""The queue's deep pages keep their plan on SQLite with a realistic mix of cases (most of them
closed, ANALYZEd statistics): page 20 of the red list is read in deadline order from the
open-case index, not sorted out of another index. That was 60 ms instead of 11 ms per page at
1M cases (docs/PERFORMANCE.md, "Console pages")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from bench import gen
from server.db import make_engine
from server.services import queue as queue_svc
from server.services.actor import Actor
from shared_models.enums import Light, Role

NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("plans") / "cases.sqlite3"
    url = f"sqlite:///{path}"
    gen.generate(url, 20_000, NOW)  # ~93% closed, like the benches; ends with ANALYZE
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _plans_of_queue_pages(
    engine: Any, light: Light | None, pages: int, who: Actor | None = None, tasks: bool = False
) -> list[str]:
    """Walk ``pages`` pages of a list (by default the dispatcher's); the query plan of each
    page's case query."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT cases."):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with Session(engine) as s:
            actor = who or Actor(1, Role.DISPATCHER)
            after = None
            for page in range(1, pages + 1):
                f = queue_svc.QueueFilter(light=light, tasks=tasks)
                _rows, after = queue_svc.queue(s, actor, f, NOW, 50, after)
                assert after is not None or page == pages, "fewer pages than the test needs"
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    with engine.connect() as conn:
        return [
            " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, p))
            for sql, p in seen
        ]


@pytest.mark.parametrize("light", [Light.RED, None], ids=["red", "all open"])
def test_deep_pages_read_the_open_deadline_index_in_order(generated: Any, light: Any) -> None:
    plans = _plans_of_queue_pages(generated, light, 5)
    assert len(plans) == 5
    for plan in plans:
        assert "ix_cases_open_deadline" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_the_open_deadline_index_holds_open_cases_only(generated: Any) -> None:
    with generated.connect() as conn:
        indexed = conn.execute(
            text("SELECT count(*) FROM cases INDEXED BY ix_cases_open_deadline "
                 "WHERE step_deadline IS NOT NULL")  # fmt: skip
        ).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
        stat = conn.execute(
            text("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_cases_open_deadline'")
        ).scalar_one()
    assert int(stat.split()[0]) == indexed < total / 5


def test_an_inspectors_tasks_read_the_partial_inspector_index(generated: Any) -> None:
    """ix_cases_inspector_deadline holds only cases with an inspector on SQLite (a new report
    is not written into it): the task list, which names the inspector, still reads it."""
    with generated.connect() as conn:
        inspector = conn.execute(
            text("SELECT inspector_id FROM cases WHERE inspector_id IS NOT NULL "
                 "AND step_deadline IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()  # fmt: skip
        stat = conn.execute(
            text("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_cases_inspector_deadline'")
        ).scalar_one()
        unassigned = conn.execute(
            text("SELECT count(*) FROM cases WHERE inspector_id IS NULL")
        ).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    assert unassigned > 0 and int(stat.split()[0]) == total - unassigned
    (plan,) = _plans_of_queue_pages(generated, None, 1, Actor(inspector, Role.INSPECTOR), True)
    assert "ix_cases_inspector_deadline (inspector_id=?" in plan, plan
