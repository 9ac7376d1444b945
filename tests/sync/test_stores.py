"""One store test suite, run against every ClientStore: memory and the phone's SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.client_store import ClientStore, EntryStatus, LocalRecord, OutboxEntry, Overlay
from sync.stores.memory import MemoryClientStore
from sync.stores.sqlite_client import MIGRATIONS, SqliteClientStore

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClientStore]:
    if request.param == "memory":
        yield MemoryClientStore()
        return
    s = SqliteClientStore(tmp_path / "device.sqlite3")
    yield s
    s.close()


def entry(seq: int, status: EntryStatus = EntryStatus.WAITING) -> OutboxEntry:
    return OutboxEntry(
        seq, f"l{seq}", "open_case.v1", {"id": f"c{seq}", "标题": "井盖"}, None, T0, status
    )


def test_meta_outbox_records_and_overlays(store: ClientStore) -> None:
    with store.transaction() as tx:
        tx.set_meta("cursor", "abc")
        tx.set_meta("photo:b", "2")
        tx.set_meta("photo:a", "1")
        for seq in (3, 1, 2):
            tx.add_outbox(entry(seq))
        tx.put_record(LocalRecord("cases", "c1", 2, {"t": "甲"}))
        tx.put_record(LocalRecord("cases", "c0", 1, None))
        tx.put_overlay(Overlay(1, "cases", "c1", {"t": "乙"}))
        tx.put_overlay(Overlay(2, "cases", "c1", None))
        tx.put_overlay(Overlay(2, "cases", "c9", {"t": "丙"}))
    with store.transaction() as tx:
        assert tx.get_meta("cursor") == "abc" and tx.get_meta("nope") is None
        assert tx.meta_items("photo:") == [("photo:a", "1"), ("photo:b", "2")]
        assert [e.seq for e in tx.outbox(EntryStatus.WAITING, 2)] == [1, 2]
        assert tx.get_outbox(1) == entry(1)
        tx.put_outbox(entry(2, EntryStatus.ATTENTION))
        assert tx.count_outbox(EntryStatus.ATTENTION) == 1
        assert [r.id for r in tx.records("cases")] == ["c0", "c1"]
        assert tx.collections() == ["cases"]
        assert tx.latest_overlay("cases", "c1") == Overlay(2, "cases", "c1", None)
        assert [(o.id, o.seq) for o in tx.overlays("cases")] == [("c1", 2), ("c9", 2)]
        tx.drop_overlay(2)
        assert tx.latest_overlay("cases", "c1") == Overlay(1, "cases", "c1", {"t": "乙"})
        tx.tombstone_all()
        assert tx.get_record("cases", "c1") == LocalRecord("cases", "c1", 2, None)
        tx.delete_outbox(3)
        tx.delete_meta("cursor")
    with store.transaction() as tx:
        assert tx.get_outbox(3) is None and tx.get_meta("cursor") is None


def test_a_failed_transaction_leaves_nothing(store: ClientStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add_outbox(entry(1))
        tx.set_meta("cursor", "x")
        raise RuntimeError("killed")
    with store.transaction() as tx:
        assert tx.get_outbox(1) is None and tx.get_meta("cursor") is None


def test_sqlite_migrates_an_old_schema_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    s = SqliteClientStore(path)
    assert s.schema_version() == len(MIGRATIONS)
    with s.transaction() as tx:
        tx.add_outbox(entry(1))
    s.close()
    MIGRATIONS.append("CREATE TABLE later_feature (x INTEGER)")
    try:
        again = SqliteClientStore(path)
        assert again.schema_version() == len(MIGRATIONS)
        with again.transaction() as tx:
            assert tx.get_outbox(1) == entry(1)
        again.close()
    finally:
        MIGRATIONS.pop()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_records_matching_reads_only_the_records_asked_for(store: ClientStore) -> None:
    with store.transaction() as tx:
        tx.put_records_if_newer(
            [
                LocalRecord("cases", "c1", 1, {"inspector_id": 7, "state": "verifying"}),
                LocalRecord("cases", "c2", 1, {"inspector_id": 7, "state": "closed"}),
                LocalRecord("cases", "c3", 2, {"inspector_id": 8, "state": "checking"}),
                LocalRecord("cases", "c4", 3, {"inspector_id": 7, "state": "checking", "x": "路"}),
                LocalRecord("cases", "c5", 1, None),  # a tombstone
                LocalRecord("my_reports", "c6", 1, {"inspector_id": 7, "state": "checking"}),
            ]
        )
        where = {"inspector_id": [7], "state": ["verifying", "checking"]}
        found = tx.records_matching("cases", where)
        assert [(r.id, r.version) for r in found] == [("c1", 1), ("c4", 3)]
        assert found[1].data == {"inspector_id": 7, "state": "checking", "x": "路"}
        assert tx.records_matching("cases", {"state": []}) == []
        assert [r.id for r in tx.records_matching("cases", {})] == ["c1", "c2", "c3", "c4"]
