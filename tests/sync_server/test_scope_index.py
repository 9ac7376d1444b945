"""The scope index (``sync_change_tags``, ``sync_record_tags``): pulls seek by the user's tags,
so the empty sync is a few index seeks whatever the size of the log, and the index follows
every change of a record's audience (moves, removals) so a full resync shows exactly the
records the user may see now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select

from bench import sync_gen
from server.models.sync import SyncRecordTag
from sync.protocol import PullRequest
from sync.server_store import Peer
from tests.sync import domain

from .conftest import SqlWorld

G1 = domain.inspector("user:1", "g1")
G2 = domain.inspector("user:2", "g2")


def _resync(world: SqlWorld, peer: Peer) -> set[str]:
    """Every record a brand-new device of ``peer`` gets, pulling from the beginning."""
    cursor, seen = "", set()
    while True:
        page = world.server.pull(PullRequest(f"fresh-{peer.key}", cursor, 2), peer)
        for c in page.changes:
            (seen.add if c.data is not None else seen.discard)(c.id)
        cursor = page.cursor
        if not page.has_more:
            return seen


def test_the_record_index_follows_moves_and_removals(world: SqlWorld) -> None:
    with world.server.writer() as w:
        for n in range(5):
            w.write("cases", f"c{n}", {"title": n}, domain.audience("g1"))
    with world.server.writer() as w:
        w.write("cases", "c1", {"title": 1}, domain.audience("g2"))  # moved
        w.remove("cases", "c2")
    assert _resync(world, G1) == {"c0", "c3", "c4"}
    assert _resync(world, G2) == {"c1"}
    with world.db.factory() as s:
        tags = {(t, i) for t, i in s.execute(select(SyncRecordTag.tag, SyncRecordTag.record_id))}
    assert ("grid:g1", "c1") not in tags and ("grid:g1", "c2") not in tags
    assert ("grid:g2", "c1") in tags and ("role:dispatcher", "c2") not in tags


def test_the_empty_pull_seeks_the_index(world: SqlWorld) -> None:
    """At 40,000 changes for other grids, the pull's SQL reads neither table in full."""
    engine = world.db.engine
    with world.server.writer() as w:
        w.write("cases", "mine", {"title": "x"}, domain.audience("g1"))
    page = world.server.pull(PullRequest("dev", "", 100), G1)
    while page.has_more:
        page = world.server.pull(PullRequest("dev", page.cursor, 100), G1)
    sync_gen.append(
        engine, 20_000, collection="cases", versions=2, now=datetime.now(UTC),
        audience=lambda i: [f"grid:other{i % 50}", "role:dispatcher"],
        data=lambda i, rid: {"title": i},
    )  # fmt: skip
    sync_gen.analyze(engine)
    statements: list[tuple[str, object]] = []

    def grab(conn: object, cur: object, statement: str, params: object, *_: object) -> None:
        if "sync_change_tags" in statement:
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    empty = world.server.pull(PullRequest("dev", page.cursor, 100), G1)
    event.remove(engine, "before_cursor_execute", grab)
    assert empty.changes == () and not empty.has_more
    (statement, params), = statements
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with engine.connect() as conn:
        plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql(prefix + statement, params))
    if sqlite:
        assert "SEARCH sync_change_tags USING PRIMARY KEY (tag=? AND cursor>? AND cursor<?)" in plan
        assert "SCAN sync_change" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
        assert "sync_change_tags" in plan, plan
