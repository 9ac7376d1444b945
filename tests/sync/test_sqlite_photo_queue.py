"""The phone's real setup: one SQLite store shared by the photo queue and the sync client.

Regression: the client asked the photo queue about a batch while holding its own store
transaction, and SQLite refuses a transaction inside a transaction.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from sync.photos import PhotoQueue
from sync.stores.sqlite_client import SqliteClientStore
from sync.testkit import MemoryPhotoServer

from . import domain
from .conftest import World


def test_a_mutation_with_a_photo_syncs_from_one_sqlite_store(tmp_path: Path) -> None:
    world = World()
    server = MemoryPhotoServer()
    store = SqliteClientStore(tmp_path / "phone.sqlite3")
    blob = b"\xff\xd8" + bytes(range(200)) * 5
    sha = hashlib.sha256(blob).hexdigest()
    queue = PhotoQueue(
        store, server, lambda s, o, n: blob[o : o + n], world.clock, random.Random(1)
    )
    phone, _ = world.device("p", domain.inspector("i", "A"), store=store, photos=queue)
    queue.add(sha, len(blob), "image/jpeg")
    phone.record("open_case.v1", {"id": "c1", "title": "井盖", "grid": "A", "photos": [sha]})
    report = phone.sync()
    assert report.ok and report.pushed == 1 and sha in server.complete
    assert phone.counts().waiting == 0
    store.close()
