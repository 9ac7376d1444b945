"""In-memory client and server stores, for tests and the loopback test kit.

Transactions are real enough to test the engine: writes are invisible to others until
commit, a failed block rolls back, and faults can be armed: the app killed at a commit
(:class:`AppKilled`) or the server dying with a transaction in flight (:class:`ServerCrashed`).
The server store numbers changes at commit time, in commit order: the in-memory form of the
PostgreSQL counter rule (see ``sync.server_store``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..client_store import EntryStatus, LocalRecord, OutboxEntry, Overlay, PhotoItem
from ..errors import ReceiptConflict, SyncError
from ..protocol import Status
from ..server_store import (
    ClientState,
    InboxDepth,
    InboxRow,
    LoggedChange,
    NewChange,
    Receipt,
    Record,
)


class AppKilled(Exception):
    """Test fault: the app died before this local transaction committed."""


class ServerCrashed(SyncError):
    """Test fault: the server died before this transaction committed."""


# ---------------------------------------------------------------- server


@dataclass
class _ServerData:
    clients: dict[str, ClientState] = field(default_factory=dict)
    receipts: dict[tuple[str, int], Receipt] = field(default_factory=dict)
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    log: list[LoggedChange] = field(default_factory=list)
    counter: int = 0
    min_retained: int = 0
    inbox: dict[tuple[str, int], InboxRow] = field(default_factory=dict)


class MemoryServerTx:
    def __init__(self, data: _ServerData, store: MemoryServerStore | None = None) -> None:
        self._d = data
        self._store = store
        self.clients: dict[str, ClientState] = {}
        self.receipts: dict[tuple[str, int], Receipt] = {}
        self.records: dict[tuple[str, str], Record] = {}
        self.changes: list[NewChange] = []
        self.prune_before: datetime | None = None
        self.prune_receipts_before: datetime | None = None
        self.dead = False  # the server "died" inside it: it can never commit
        self.inbox_new: dict[tuple[str, int], InboxRow] = {}
        self.inbox_gone: set[tuple[str, int]] = set()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = (dict(self.clients), dict(self.receipts), dict(self.records), len(self.changes))
        try:
            yield
        except BaseException:
            self.clients, self.receipts, self.records = saved[0], saved[1], saved[2]
            del self.changes[saved[3] :]
            raise
        if self._store is not None:
            self._store._crash_point(self)  # the server may die between two mutations

    def client_state(self, client_id: str, owner: str) -> ClientState:
        state = self.clients.get(client_id) or self._d.clients.get(client_id)
        if state is None:
            state = self.clients[client_id] = ClientState(owner, 0)
        return state

    def set_last_seq(self, client_id: str, seq: int) -> None:
        self.clients[client_id] = replace(self.client_state(client_id, ""), last_seq=seq)

    def get_receipts(self, client_id: str, seqs: Sequence[int]) -> dict[int, Receipt]:
        found = {}
        for seq in seqs:
            key = (client_id, seq)
            receipt = self.receipts.get(key) or self._d.receipts.get(key)
            if receipt is not None:
                found[seq] = receipt
        return found

    def put_receipts(self, receipts: Sequence[Receipt]) -> None:
        for receipt in receipts:
            self.receipts[(receipt.client_id, receipt.seq)] = receipt

    def get_record(self, collection: str, id: str) -> Record | None:
        key = (collection, id)
        return self.records.get(key) or self._d.records.get(key)

    # the inbox: what this transaction sees is the committed rows, its own added, less its
    # own deleted; a client "lock" is the store's set of clients an applier holds

    def _inbox(self, client_id: str) -> list[InboxRow]:
        rows = {k: r for k, r in self._d.inbox.items() if k[0] == client_id}
        rows.update({k: r for k, r in self.inbox_new.items() if k[0] == client_id})
        return [r for k, r in sorted(rows.items()) if k not in self.inbox_gone]

    def peek_client(self, client_id: str) -> ClientState | None:
        return self.clients.get(client_id) or self._d.clients.get(client_id)

    def claim_client(self, client_id: str) -> ClientState | None:
        state = self.peek_client(client_id)
        if state is None:
            return None
        if self._store is not None and not self._store._claim(self, client_id):
            return None  # another transaction applies this client now
        return state

    def inbox_top(self, client_id: str) -> int:
        rows = self._inbox(client_id)
        return rows[-1].seq if rows else 0

    def inbox_seqs(self, client_id: str, low: int, high: int) -> set[int]:
        return {r.seq for r in self._inbox(client_id) if low <= r.seq <= high}

    def put_inbox(self, rows: Sequence[InboxRow]) -> None:
        for row in rows:
            self.inbox_new[(row.client_id, row.seq)] = row
            self.inbox_gone.discard((row.client_id, row.seq))

    def inbox_rows(self, client_id: str, limit: int) -> list[InboxRow]:
        return self._inbox(client_id)[:limit]

    def drop_inbox(self, client_id: str, upto: int) -> None:
        for row in self._inbox(client_id):
            if row.seq <= upto:
                self.inbox_gone.add((client_id, row.seq))

    def inbox_clients(self, limit: int) -> list[tuple[str, str]]:
        first: dict[str, InboxRow] = {}
        for key, row in sorted(self._d.inbox.items(), key=lambda kv: kv[1].received_at):
            first.setdefault(key[0], row)
        return [(c, r.owner) for c, r in first.items()][:limit]

    def inbox_depth(self) -> list[InboxDepth]:
        out = []
        for client_id in sorted({k[0] for k in self._d.inbox}):
            rows = self._inbox(client_id)
            out.append(InboxDepth(client_id, rows[0].owner, len(rows), rows[0].seq,
                                  min(r.received_at for r in rows)))  # fmt: skip
        return out

    def put_record(self, record: Record) -> None:
        self.records[(record.collection, record.id)] = record

    def append_changes(self, changes: Sequence[NewChange]) -> None:
        self.changes.extend(changes)

    def high_water(self) -> int:
        return self._d.counter

    def changes_after(
        self,
        cursor: int,
        upto: int,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        exclude_origin: str | None,
        limit: int,
    ) -> list[LoggedChange]:
        out = []
        for row in self._d.log:
            c = row.change
            if not cursor < row.cursor <= upto or (collections and c.collection not in collections):
                continue
            if c.origin is not None and c.origin == exclude_origin:
                continue
            if (c.audience | c.prev_audience) & audiences:
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def records_after(
        self,
        after: tuple[str, str] | None,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        limit: int,
    ) -> list[Record]:
        merged = {**self._d.records, **self.records}
        keys = sorted(k for k in merged if after is None or k > after)
        out = []
        for key in keys:
            r = merged[key]
            if r.deleted or not r.audience & audiences:
                continue
            if collections and r.collection not in collections:
                continue
            out.append(r)
            if len(out) >= limit:
                break
        return out

    def min_retained_cursor(self) -> int:
        return self._d.min_retained

    def prune(self, before: datetime, receipts_before: datetime | None = None) -> None:
        self.prune_before = before
        self.prune_receipts_before = receipts_before or before


class MemoryServerStore:
    """The server's committed state; survives a simulated restart, loses what was in flight."""

    def __init__(self) -> None:
        self._d = _ServerData()
        self._lock = threading.Lock()
        self._crash_in: int | None = None
        self._claimed: dict[str, MemoryServerTx] = {}  # client id -> the applier's open tx

    def _claim(self, tx: MemoryServerTx, client_id: str) -> bool:
        """``FOR UPDATE SKIP LOCKED`` in memory: one transaction at a time applies a client."""
        with self._lock:
            holder = self._claimed.get(client_id)
            if holder is not None and holder is not tx:
                return False
            self._claimed[client_id] = tx
            return True

    def _release(self, tx: MemoryServerTx) -> None:
        with self._lock:
            for client_id in [c for c, t in self._claimed.items() if t is tx]:
                del self._claimed[client_id]

    def crash_after(self, commits: int) -> None:
        """Arm a fault: after ``commits`` more commits or finished mutations (savepoints) the
        server dies, with the transaction in flight (server restart)."""
        self._crash_in = commits

    def crash_after_cancel(self) -> None:
        self._crash_in = None

    @contextmanager
    def transaction(self) -> Iterator[MemoryServerTx]:
        tx = MemoryServerTx(self._d, self)
        try:
            yield tx
            self._commit(tx)
        finally:
            self._release(tx)

    def _crash_point(self, tx: MemoryServerTx) -> None:
        """Count down an armed crash; when it fires, ``tx`` dies with the server."""
        with self._lock:
            if self._crash_in is None:
                return
            if self._crash_in == 0:
                self._crash_in = None
                tx.dead = True
                raise ServerCrashed("server restarted with a transaction in flight")
            self._crash_in -= 1

    def _commit(self, tx: MemoryServerTx) -> None:
        if tx.dead:
            raise ServerCrashed("server restarted with a transaction in flight")
        self._crash_point(tx)
        with self._lock:
            d = self._d
            if any(key in d.receipts for key in tx.receipts):
                raise ReceiptConflict("receipt written concurrently")
            if any(key in d.inbox for key in tx.inbox_new):
                raise ReceiptConflict("inbox row written concurrently")
            d.inbox.update(tx.inbox_new)
            for key in tx.inbox_gone:
                d.inbox.pop(key, None)
            d.clients.update(tx.clients)
            d.receipts.update(tx.receipts)
            d.records.update(tx.records)
            for change in tx.changes:  # numbered now, in commit order
                d.counter += 1
                d.log.append(LoggedChange(d.counter, change))
            if tx.prune_before is not None:
                cut = tx.prune_before
                gone = [r.cursor for r in d.log if r.change.at < cut]
                if gone:
                    d.min_retained = max(d.min_retained, max(gone))
                d.log = [r for r in d.log if r.cursor > d.min_retained]
                kept = tx.prune_receipts_before or cut
                d.receipts = {  # refused receipts stay: their answer must never be lost
                    k: v
                    for k, v in d.receipts.items()
                    if v.status is Status.REFUSED or v.at is None or v.at >= kept
                }

    # inspection helpers for tests
    def receipts(self) -> dict[tuple[str, int], Receipt]:
        return dict(self._d.receipts)

    def inbox(self) -> dict[tuple[str, int], InboxRow]:
        return dict(self._d.inbox)

    def lose_inbox(self) -> None:
        """Test fault: the server restored from a backup taken before these were received."""
        self._d.inbox.clear()

    def records(self) -> dict[tuple[str, str], Record]:
        return dict(self._d.records)

    def origin_of(self, collection: str, id: str, version: int) -> str | None:
        for row in self._d.log:
            c = row.change
            if (c.collection, c.id, c.version) == (collection, id, version):
                return c.origin
        return None


# ---------------------------------------------------------------- client


@dataclass
class _ClientData:
    meta: dict[str, str] = field(default_factory=dict)
    outbox: dict[int, OutboxEntry] = field(default_factory=dict)
    records: dict[tuple[str, str], LocalRecord] = field(default_factory=dict)
    overlays: dict[tuple[int, str, str], Overlay] = field(default_factory=dict)
    photos: dict[str, PhotoItem] = field(default_factory=dict)  # in the order added

    def copy(self) -> _ClientData:
        return _ClientData(
            dict(self.meta),
            dict(self.outbox),
            dict(self.records),
            dict(self.overlays),
            dict(self.photos),
        )


class MemoryClientTx:
    def __init__(self, data: _ClientData) -> None:
        self.d = data

    def get_meta(self, key: str) -> str | None:
        return self.d.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.d.meta[key] = value

    def delete_meta(self, key: str) -> None:
        self.d.meta.pop(key, None)

    def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in self.d.meta.items() if k.startswith(prefix))

    def add_outbox(self, entry: OutboxEntry) -> None:
        if entry.seq in self.d.outbox:
            raise ValueError(f"outbox already holds #{entry.seq}")
        self.d.outbox[entry.seq] = entry

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.d.outbox[entry.seq] = entry

    def get_outbox(self, seq: int) -> OutboxEntry | None:
        return self.d.outbox.get(seq)

    def delete_outbox(self, seq: int) -> None:
        self.d.outbox.pop(seq, None)

    def set_status(self, seqs: Sequence[int], status: EntryStatus) -> None:
        for seq in seqs:
            entry = self.d.outbox.get(seq)
            if entry is not None:
                self.d.outbox[seq] = replace(entry, status=status)

    def outbox(self, status: EntryStatus, limit: int, after: int = 0) -> list[OutboxEntry]:
        entries = sorted(self.d.outbox.items())
        return [e for s, e in entries if e.status is status and s > after][:limit]

    def count_outbox(self, status: EntryStatus) -> int:
        return sum(1 for e in self.d.outbox.values() if e.status is status)

    def get_record(self, collection: str, id: str) -> LocalRecord | None:
        return self.d.records.get((collection, id))

    def put_record(self, record: LocalRecord) -> None:
        self.d.records[(record.collection, record.id)] = record

    def put_records_if_newer(self, records: Sequence[LocalRecord]) -> None:
        for r in records:
            held = self.d.records.get((r.collection, r.id))
            if held is None or r.version >= held.version:
                self.d.records[(r.collection, r.id)] = r

    def records(self, collection: str) -> list[LocalRecord]:
        return [r for k, r in sorted(self.d.records.items()) if k[0] == collection]

    def records_matching(
        self, collection: str, where: Mapping[str, Collection[str | int]]
    ) -> list[LocalRecord]:
        return [
            r
            for r in self.records(collection)
            if r.data is not None and all(r.data.get(k) in v for k, v in where.items())
        ]

    def collections(self) -> list[str]:
        return sorted({c for c, _ in self.d.records})

    def tombstone_all(self) -> None:
        for key, r in self.d.records.items():
            self.d.records[key] = replace(r, data=None)

    def put_overlay(self, overlay: Overlay) -> None:
        self.d.overlays[(overlay.seq, overlay.collection, overlay.id)] = overlay

    def latest_overlay(self, collection: str, id: str) -> Overlay | None:
        found = [o for k, o in self.d.overlays.items() if k[1:] == (collection, id)]
        return max(found, key=lambda o: o.seq) if found else None

    def overlays(self, collection: str) -> list[Overlay]:
        latest: dict[str, Overlay] = {}
        for o in sorted(self.d.overlays.values(), key=lambda o: o.seq):
            if o.collection == collection:
                latest[o.id] = o
        return [latest[k] for k in sorted(latest)]

    def drop_overlay(self, seq: int) -> None:
        for key in [k for k in self.d.overlays if k[0] == seq]:
            del self.d.overlays[key]

    def get_photo(self, sha256: str) -> PhotoItem | None:
        return self.d.photos.get(sha256)

    def put_photo(self, item: PhotoItem) -> None:
        self.d.photos[item.sha256] = item

    def photos(self) -> list[PhotoItem]:
        return list(self.d.photos.values())

    def delete_photo(self, sha256: str) -> None:
        self.d.photos.pop(sha256, None)


class MemoryClientStore:
    """A device's store in memory; ``kill_at`` arms the app dying at a chosen commit."""

    def __init__(self) -> None:
        self._d = _ClientData()
        self._kill_in: int | None = None

    def kill_at(self, commits: int = 0) -> None:
        """Arm a fault: the commit after ``commits`` more commits dies with the app."""
        self._kill_in = commits

    def disarm(self) -> None:
        self._kill_in = None

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[MemoryClientTx]:
        tx = MemoryClientTx(self._d.copy())
        yield tx
        if self._kill_in is not None:
            if self._kill_in == 0:
                self._kill_in = None
                raise AppKilled("the app was killed before this commit")
            self._kill_in -= 1
        self._d = tx.d
