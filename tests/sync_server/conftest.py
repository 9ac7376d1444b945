"""Fixtures of the server-side sync tests: the SQL store on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db import Database
from server.models import Base
from server.models.sync import SyncInbox, SyncRecord
from server.sync_store import SqlServerStore
from sync.server import SyncServer
from sync.server_store import Record
from tests.integration.servers import free_port, wait_until_serving
from tests.sync.conftest import World

ROOT = Path(__file__).resolve().parents[2]


class InspectableStore(SqlServerStore):
    """The SQL store plus the inspection helper the engine's own tests use."""

    def records(self) -> dict[tuple[str, str], Record]:
        with self.factory() as s:
            return {
                (r.collection, r.record_id): Record(
                    r.collection, r.record_id, r.version, r.data, frozenset(r.audience), r.deleted
                )
                for r in s.scalars(select(SyncRecord))
            }

    def inbox(self) -> dict[tuple[str, int], SyncInbox]:
        with self.factory() as s:
            return {(r.client_id, r.seq): r for r in s.scalars(select(SyncInbox))}

    def lose_inbox(self) -> None:
        """The server restored from a backup taken before these were received."""
        from sqlalchemy import delete

        with self.factory() as s, s.begin():
            s.execute(delete(SyncInbox))

    def receipts(self) -> dict[tuple[str, int], object]:
        from server.models.sync import SyncReceipt

        with self.factory() as s:
            return {(r.client_id, r.seq): r for r in s.scalars(select(SyncReceipt))}


class SqlWorld(World):
    """The engine's test world with its server on the SQL store."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.store = InspectableStore(db.factory)  # type: ignore[assignment]
        self.server = SyncServer(self.store, self.registry, self.clock, self.peer_of)


@pytest.fixture
def sync_db(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def world(sync_db: Database) -> SqlWorld:
    """Overrides the engine tests' in-memory world, so they run against the SQL store."""
    return SqlWorld(sync_db)


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A real server process on a free loopback port, with the demo city; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sync_server.serve", db_url, str(port), str(tmp_path / "p")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, proc, time.monotonic() + 10)  # type: ignore[arg-type]
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
