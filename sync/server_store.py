"""What the server engine needs from storage: the ``ServerStore`` protocol and its rows.

The in-memory adapter (``sync.stores.memory``) implements it for tests; the SQLAlchemy
adapter in ``server/`` implements it on PostgreSQL and SQLite. Every method of
:class:`ServerTx` runs inside the transaction it belongs to; leaving the ``with`` block
normally commits, leaving it by an exception rolls back.

Cursor safety on PostgreSQL (see docs/sync-protocol.md, "Cursor"): change numbers are taken
by :meth:`ServerTx.append_changes` from a single-row counter (``UPDATE sync_counter SET value
= value + n RETURNING value``) as the last write before commit. The row lock is held until
commit, so numbers become visible in the order they were given and "everything after cursor
N, up to the high-water mark" never skips a change that commits late.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared_models.errors import CgtError

from .protocol import Json, Op, Status


@dataclass(frozen=True)
class Peer:
    """Who is syncing, as the engine sees them.

    ``key`` is the stable user identity that owns a client id (e.g. ``"user:12"``);
    ``audiences`` are the tags whose records this user may see (e.g. ``{"user:12",
    "grid:410402-03", "role:dispatcher"}``); ``actor`` is the application's own actor object,
    handed to mutation handlers untouched.
    """

    key: str
    audiences: frozenset[str]
    actor: Any = None


@dataclass(frozen=True)
class Record:
    """The device-facing copy of one record and who may see it."""

    collection: str
    id: str
    version: int
    data: Json
    audience: frozenset[str]
    deleted: bool = False  # a tombstone: kept so a re-created id never reuses a lower version


@dataclass(frozen=True)
class NewChange:
    """A change to be logged; the store gives it its cursor when it commits."""

    collection: str
    id: str
    op: Op
    version: int
    data: Json | None
    audience: frozenset[str]
    prev_audience: frozenset[str]  # who could see the record before: they get a removal
    origin: str | None  # client id whose mutation wrote it; None for server-side writers
    at: datetime


@dataclass(frozen=True)
class LoggedChange:
    cursor: int
    change: NewChange


@dataclass(frozen=True)
class ClientState:
    owner: str  # Peer.key that first used this client id
    last_seq: int  # highest mutation number with a receipt (0: none yet)


@dataclass(frozen=True)
class Receipt:
    """The remembered answer to one mutation; replayed for every retry of it."""

    client_id: str
    seq: int
    name: str
    status: Status  # applied or refused; never duplicate
    code: str | None
    message: str | None
    message_zh: str | None
    result: Json
    changes: tuple[Any, ...] = field(default=())  # protocol.Change as echoed to the device
    at: datetime | None = None

    @classmethod
    def refusal(cls, client_id: str, seq: int, name: str, error: CgtError, at: datetime) -> Receipt:
        """The refused receipt of mutation ``seq`` (rule P-6): the error's code and messages."""
        return cls(client_id, seq, name, Status.REFUSED, error.code, error.message,
                   error.message_zh, {}, (), at)  # fmt: skip


@dataclass(frozen=True)
class InboxRow:
    """A deferred mutation the server has received and not yet applied (rule D-3)."""

    client_id: str
    seq: int
    owner: str  # Peer.key of the user who pushed it: it is applied as them (D-5)
    name: str
    args: Json
    base_version: int | None
    received_at: datetime


@dataclass(frozen=True)
class InboxDepth:
    """What waits in the inbox for one client (``flask cgt sync-inbox``)."""

    client_id: str
    owner: str
    rows: int
    first_seq: int
    oldest: datetime


class ServerTx(Protocol):
    """One database transaction as the engine uses it."""

    def client_state(self, client_id: str, owner: str) -> ClientState:
        """Return the client's row, creating it for ``owner`` if new; lock it (FOR UPDATE)."""
        ...

    def set_last_seq(self, client_id: str, seq: int) -> None: ...

    def get_receipts(self, client_id: str, seqs: Sequence[int]) -> dict[int, Receipt]:
        """The receipts of these mutation numbers that exist, by seq (one look-up)."""
        ...

    def put_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Insert; a concurrent insert of the same key surfaces as ReceiptConflict."""
        ...

    # ------------------------------------------------------------ the inbox (rules D-*)

    def peek_client(self, client_id: str) -> ClientState | None:
        """The client's row if it exists; neither created nor locked (outcomes only read)."""
        ...

    def claim_client(self, client_id: str) -> ClientState | None:
        """Lock the client's row for the applier, or None if another transaction holds it
        (``FOR UPDATE SKIP LOCKED``: another process is applying this client) or it is gone."""
        ...

    def inbox_top(self, client_id: str) -> int:
        """The highest seq of the client in the inbox, 0 if none."""
        ...

    def inbox_seqs(self, client_id: str, low: int, high: int) -> set[int]:
        """The client's seqs in the inbox with ``low <= seq <= high``."""
        ...

    def put_inbox(self, rows: Sequence[InboxRow]) -> None:
        """Insert (one statement); a concurrent insert of a key surfaces as ReceiptConflict."""
        ...

    def inbox_rows(self, client_id: str, limit: int) -> list[InboxRow]:
        """The client's first ``limit`` inbox rows in seq order."""
        ...

    def drop_inbox(self, client_id: str, upto: int) -> None:
        """Delete the client's inbox rows with ``seq <= upto`` (they have receipts now)."""
        ...

    def inbox_clients(self, limit: int) -> list[tuple[str, str]]:
        """``(client_id, owner)`` of clients with rows in the inbox, oldest first."""
        ...

    def inbox_depth(self) -> list[InboxDepth]:
        """Per client: how many rows wait, from which seq, since when."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope of the transaction: if the block raises, its writes are undone and
        the rest of the transaction goes on. A store that finds its whole transaction gone
        raises TransactionLost instead (nothing of it may be committed)."""
        ...

    def get_record(self, collection: str, id: str) -> Record | None: ...

    def put_record(self, record: Record) -> None:
        """Insert or replace; a removal is written as a record with ``deleted=True``."""
        ...

    def append_changes(self, changes: Sequence[NewChange]) -> None:
        """Log changes with consecutive cursors taken from the counter; called last."""
        ...

    def high_water(self) -> int:
        """The highest cursor such that every change at or below it has committed."""
        ...

    def changes_after(
        self,
        cursor: int,
        upto: int,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        exclude_origin: str | None,
        limit: int,
    ) -> list[LoggedChange]:
        """Changes with ``cursor < c <= upto`` in cursor order whose audience or previous
        audience meets ``audiences``, in ``collections`` (all if empty), not from
        ``exclude_origin``; at most ``limit``."""
        ...

    def records_after(
        self,
        after: tuple[str, str] | None,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        limit: int,
    ) -> list[Record]:
        """Live (not deleted) records visible to ``audiences``, ordered by (collection, id),
        strictly after ``after``; at most ``limit``."""
        ...

    def min_retained_cursor(self) -> int:
        """Cursors below this may have lost changes to pruning: such devices resync."""
        ...

    def prune(self, before: datetime, receipts_before: datetime | None = None) -> None:
        """Forget changes older than ``before`` and *applied* receipts older than
        ``receipts_before`` (default ``before``): the retention periods.

        Refused receipts are kept: a device retrying a refused mutation after any delay must
        get the refusal again, never "already applied" (see docs, rule P-9)."""
        ...


class ServerStore(Protocol):
    def transaction(self) -> AbstractContextManager[ServerTx]: ...
