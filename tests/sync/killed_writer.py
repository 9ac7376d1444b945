"""Subprocess for test_kill: a device writing as fast as it can until SIGKILLed.

Loop: record a mutation (outbox + overlay + seq in one transaction), then apply a pulled
page of two records together with its cursor. Prints each committed step so the parent
knows what was promised durable before the kill.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from sync.client import SyncClient, apply_page
from sync.protocol import Change, Op, PullPage
from sync.stores.sqlite_client import SqliteClientStore
from sync.testkit import FixedClock, SequentialIds
from tests.sync.domain import registry


class Offline:
    def push(self, request: object) -> object:
        raise NotImplementedError

    def pull(self, request: object) -> object:
        raise NotImplementedError


def main(path: str) -> None:
    store = SqliteClientStore(path)
    client = SyncClient(
        store,
        Offline(),
        registry(),
        FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),  # type: ignore[arg-type]
        SequentialIds("k"),
    )
    with store.transaction() as tx:
        page_no = int(tx.get_meta("cursor") or "0")
    while True:
        entry = client.record("note_case.v1", {"id": "c", "note_id": "x" * 500})
        print(f"seq {entry.seq}", flush=True)
        page_no += 1
        changes = tuple(
            Change("pages", f"{page_no}-{i}", Op.UPSERT, 1, {"page": page_no, "pad": "y" * 2000})
            for i in range(2)
        )
        with store.transaction() as tx:
            apply_page(tx, PullPage(changes, str(page_no), False))
        print(f"page {page_no}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
