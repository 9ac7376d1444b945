"""What the device engine needs from storage: the ``ClientStore`` protocol and its rows.

One transaction is all-or-nothing even if the app is killed inside it; the SQLite adapter
(``sync.stores.sqlite_client``) is the phone's store, the in-memory one serves tests. It holds
the synced records, the outbox, optimistic overlays, the photo queue and a key/value meta.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from .protocol import Json


class EntryStatus(StrEnum):
    WAITING = "waiting"  # to be sent (maybe sent already, answer not received)
    SENT = "sent"  # the server has it in its inbox (``received``); its outcome comes later
    ATTENTION = "attention"  # refused by the server: the user fixes and resends, or discards


@dataclass(frozen=True)
class OutboxEntry:
    """A mutation the user did on this device that the server has not acknowledged."""

    seq: int
    local_id: str
    name: str
    args: Json
    base_version: int | None
    created_at: datetime
    status: EntryStatus = EntryStatus.WAITING
    code: str | None = None
    message: str | None = None
    message_zh: str | None = None


class PhotoStatus(StrEnum):
    WAITING = "waiting"
    UPLOADED = "uploaded"
    ATTENTION = "attention"


@dataclass(frozen=True)
class PhotoItem:
    """One photo of the upload queue (``sync.photos.PhotoQueue``)."""

    sha256: str
    size: int
    mime: str
    offset: int = 0
    status: PhotoStatus = PhotoStatus.WAITING
    failures: int = 0
    retry_at: str | None = None  # ISO time before which this item is not tried again
    code: str | None = None
    message: str | None = None
    message_zh: str | None = None


@dataclass(frozen=True)
class LocalRecord:
    """The server's version of a record as last received; ``data`` None is a tombstone."""

    collection: str
    id: str
    version: int
    data: Json | None


@dataclass(frozen=True)
class Overlay:
    """An optimistic local write of outbox entry ``seq``; ``data`` None means removed."""

    seq: int
    collection: str
    id: str
    data: Json | None


class ClientTx(Protocol):
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def delete_meta(self, key: str) -> None: ...
    def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        """Key/value pairs whose key starts with ``prefix``, ordered by key."""
        ...

    def add_outbox(self, entry: OutboxEntry) -> None: ...
    def put_outbox(self, entry: OutboxEntry) -> None:
        """Replace the entry with the same seq."""
        ...

    def set_status(self, seqs: Sequence[int], status: EntryStatus) -> None:
        """Give these entries ``status`` (one statement): sent, or back to waiting."""
        ...

    def get_outbox(self, seq: int) -> OutboxEntry | None: ...
    def delete_outbox(self, seq: int) -> None: ...
    def outbox(self, status: EntryStatus, limit: int, after: int = 0) -> list[OutboxEntry]:
        """Entries with ``status`` and ``seq > after`` in seq order, at most ``limit``."""
        ...

    def count_outbox(self, status: EntryStatus) -> int: ...

    def get_record(self, collection: str, id: str) -> LocalRecord | None: ...
    def put_record(self, record: LocalRecord) -> None: ...
    def put_records_if_newer(self, records: Sequence[LocalRecord]) -> None:
        """Write each record, in order, unless the store holds a higher version of it (L-7)."""
        ...

    def records(self, collection: str) -> list[LocalRecord]:
        """Every record of ``collection`` including tombstones, ordered by id."""
        ...

    def records_matching(
        self, collection: str, where: Mapping[str, Collection[str | int]]
    ) -> list[LocalRecord]:
        """Live records of ``collection`` whose data has, for each key of ``where`` (a
        top-level field), one of its values; ordered by id. The SQLite store filters in SQL
        (``json_extract``), so records that do not match are never decoded."""
        ...

    def collections(self) -> list[str]: ...
    def tombstone_all(self) -> None:
        """Turn every live record into a tombstone of the same version (full resync)."""
        ...

    def put_overlay(self, overlay: Overlay) -> None: ...
    def latest_overlay(self, collection: str, id: str) -> Overlay | None:
        """The overlay with the highest seq for this record."""
        ...

    def overlays(self, collection: str) -> list[Overlay]:
        """The latest overlay of each record of ``collection`` that has one."""
        ...

    def drop_overlay(self, seq: int) -> None: ...

    def get_photo(self, sha256: str) -> PhotoItem | None: ...
    def put_photo(self, item: PhotoItem) -> None:
        """Insert or replace the queue item of ``item.sha256`` (keeping its place)."""
        ...

    def photos(self) -> list[PhotoItem]:
        """The photo queue in the order photos were added."""
        ...

    def delete_photo(self, sha256: str) -> None: ...


class ClientStore(Protocol):
    def transaction(self, durable: bool = True) -> AbstractContextManager[ClientTx]:
        """All or nothing, whenever the app is killed. ``durable=False`` (what the server can
        give again: pulled pages, settled answers) may also be lost to a power cut after the
        commit; what only the device has (the outbox) is always written durably."""
        ...
