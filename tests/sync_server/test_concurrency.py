"""Cursor safety under concurrent writers (the PostgreSQL trap of DESIGN.md, rule C-3).

Two writers on separate sessions: the first takes its change number and is slow to commit,
the second writes meanwhile. A device pulling in between must not move its cursor past the
first writer's change, which commits later: the next pull brings it.
"""

from __future__ import annotations

import threading
import time

from sync.protocol import PullRequest
from sync.server import Writer
from sync.server_store import Peer

from .conftest import SqlWorld

DISPATCHER = Peer("user:1", frozenset({"role:dispatcher"}))


def _write(world: SqlWorld, id: str, hold: threading.Event | None = None) -> None:
    with world.db.factory() as s:
        from server.sync_store import SqlServerTx

        w = Writer(SqlServerTx(s), None, world.clock())
        w.write("cases", id, {"title": id}, {"role:dispatcher"})
        w.flush()  # takes the change number (and, on PostgreSQL, the counter's row lock)
        if hold is not None:
            hold.wait(10)
        s.commit()


def _pull(world: SqlWorld, cursor: str) -> tuple[list[str], str]:
    ids: list[str] = []
    while True:
        page = world.server.pull(PullRequest("reader", cursor, 100), DISPATCHER)
        ids += [c.id for c in page.changes]
        cursor = page.cursor
        if not page.has_more:
            return ids, cursor


def test_a_change_committing_late_is_never_skipped(world: SqlWorld) -> None:
    _, cursor = _pull(world, "")
    release = threading.Event()
    slow = threading.Thread(target=_write, args=(world, "slow", release))
    slow.start()
    time.sleep(0.2)  # "slow" holds its number, uncommitted
    fast = threading.Thread(target=_write, args=(world, "fast"))
    fast.start()
    time.sleep(0.2)  # "fast" is queued behind it (or, with a sequence, would commit first)
    seen_early, cursor = _pull(world, cursor)
    release.set()
    slow.join(10)
    fast.join(10)
    seen_late, _ = _pull(world, cursor)
    assert not slow.is_alive() and not fast.is_alive()
    assert sorted(seen_early + seen_late) == ["fast", "slow"]


def test_many_concurrent_writers_lose_nothing(world: SqlWorld) -> None:
    _, cursor = _pull(world, "")
    seen: list[str] = []
    threads = [threading.Thread(target=_write, args=(world, f"w{i}")) for i in range(20)]
    for t in threads:
        t.start()
    for _ in range(10):  # pull while they commit
        ids, cursor = _pull(world, cursor)
        seen += ids
    for t in threads:
        t.join(30)
    ids, _ = _pull(world, cursor)
    assert sorted(seen + ids) == sorted(f"w{i}" for i in range(20))
