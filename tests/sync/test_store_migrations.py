"""The phone's store migrates a file written by an older app (rule V-4): the outbox, the
records and the photo queue survive; a failed step changes nothing; a newer file is refused."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.client_store import EntryStatus, PhotoItem, PhotoStatus
from sync.photos import PhotoQueue
from sync.stores import sqlite_client
from sync.stores.sqlite_client import MIGRATIONS, SqliteClientStore, StoreTooNew
from sync.testkit import FixedClock, MemoryPhotoServer

SHA = hashlib.sha256(bytes(9000)).hexdigest()  # the photo of 9000 zero bytes
OTHER = "f" * 64
CREATED = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def first_release_file(path: Path) -> None:
    """A device store exactly as the first release left it: schema 1 recorded in a
    ``schema_version`` table, the photo queue as JSON in ``meta``, work not yet sent."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (1)")
    meta = {"client_id": "phone-1", "next_seq": "3", "cursor": "WzEsImMiLDQyXQ"}
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    args = json.dumps({"id": "c1", "title": "井盖", "grid": "A", "photos": [SHA]})
    db.execute(
        "INSERT INTO outbox VALUES (1, 'l1', 'open_case.v1', ?, NULL, ?, 'waiting', NULL, NULL, "
        "NULL)",
        (args, CREATED.isoformat()),
    )
    db.execute(
        "INSERT INTO outbox VALUES (2, 'l2', 'close_case.v1', '{\"id\": \"c0\"}', 3, ?, "
        "'attention', 'wrong_state', 'closed already', '已结案')",
        (CREATED.isoformat(),),
    )
    db.execute("INSERT INTO records VALUES ('cases', 'c0', 3, '{\"title\": \"旧\"}')")
    db.execute("INSERT INTO overlay VALUES (1, 'cases', 'c1', '{\"title\": \"井盖\"}')")
    for sha, item in {
        OTHER: {"status": "attention", "offset": 0, "failures": 0, "code": "unsupported_media"},
        SHA: {"status": "waiting", "offset": 4000, "failures": 2, "retry_at": None},
    }.items():
        old = {"sha256": sha, "size": 9000, "mime": "image/jpeg", "retry_at": None,
               "code": None, "message": None, "message_zh": None, **item}  # fmt: skip
        db.execute("INSERT INTO meta VALUES (?, ?)", (f"photo:{sha}", json.dumps(old)))
    db.close()


def test_a_first_release_file_is_migrated_with_everything_kept(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    first_release_file(path)
    store = SqliteClientStore(path)
    assert store.schema_version() == len(MIGRATIONS) == 3
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == 3
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "schema_version" not in tables and "photos" in tables
    with store.transaction() as tx:
        assert [e.seq for e in tx.outbox(EntryStatus.WAITING, 10)] == [1]
        (refused,) = tx.outbox(EntryStatus.ATTENTION, 10)
        assert (refused.code, refused.message_zh, refused.base_version) == (
            "wrong_state",
            "已结案",
            3,
        )
        assert tx.get_meta("next_seq") == "3" and tx.get_meta("cursor") == "WzEsImMiLDQyXQ"
        assert tx.meta_items("photo:") == []
        assert tx.get_record("cases", "c0").data == {"title": "旧"}  # type: ignore[union-attr]
        assert tx.latest_overlay("cases", "c1") is not None
        assert tx.photos() == [  # in the old queue's order (by key)
            PhotoItem(SHA, 9000, "image/jpeg", 4000, PhotoStatus.WAITING, 2),
            PhotoItem(OTHER, 9000, "image/jpeg", 0, PhotoStatus.ATTENTION, 0, None,
                      "unsupported_media"),
        ]  # fmt: skip
    server = MemoryPhotoServer()
    server.partial[SHA] = bytes(4000)  # what the server held of it before the update
    server.declared[SHA] = 9000
    queue = PhotoQueue(
        store, server, lambda s, o, n: bytes(9000)[o : o + n], FixedClock(CREATED), random.Random(1)
    )
    queue.run()  # the migrated queue goes on where the old app stopped
    assert server.complete[SHA] == bytes(9000)
    assert queue.status_of([SHA, OTHER]) == {
        SHA: PhotoStatus.UPLOADED,
        OTHER: PhotoStatus.ATTENTION,
    }
    store.close()
    again = SqliteClientStore(path)  # opening a migrated file changes nothing
    with again.transaction() as tx:
        assert again.schema_version() == 3 and len(tx.photos()) == 2
    again.close()


def test_a_failed_step_leaves_the_file_as_the_old_app_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "device.sqlite3"
    first_release_file(path)
    broken = [MIGRATIONS[0], MIGRATIONS[1] + ";\nINSERT INTO no_such_table VALUES (1)"]
    monkeypatch.setattr(sqlite_client, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        SqliteClientStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM meta WHERE key LIKE 'photo:%'").fetchone() == (2,)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'photos'").fetchone() is None
    db.close()
    monkeypatch.undo()
    store = SqliteClientStore(path)  # the fixed app migrates it on the next start
    with store.transaction() as tx:
        assert len(tx.photos()) == 2 and len(tx.outbox(EntryStatus.WAITING, 10)) == 1
    store.close()


def test_a_file_from_a_newer_app_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    SqliteClientStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreTooNew):
        SqliteClientStore(path)


def test_the_apps_two_engines_opening_an_old_file_at_once_migrate_it_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "device.sqlite3"
    first_release_file(path)
    barrier = threading.Barrier(2)
    opened: list[SqliteClientStore] = []

    def open_store() -> None:
        barrier.wait()
        opened.append(SqliteClientStore(path))

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 2
    for store in opened:
        with store.transaction() as tx:
            assert [p.sha256 for p in tx.photos()] == [SHA, OTHER]
        store.close()
