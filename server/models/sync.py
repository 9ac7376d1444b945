"""Tables of the sync engine's server store (docs/sync-protocol.md, section 11).

Audience tags are a ``text[]`` on PostgreSQL and a JSON list on SQLite; :data:`Tags` hides
the difference from the models. Pulls do not filter those: they seek the scope index
(``sync_change_tags``, ``sync_record_tags``: one row per tag), so a pull finds a user's few
records among millions without reading the others on both engines (docs/operations.md,
"Sync indexes"; docs/sync-protocol.md, section 11). The tag arrays have no index of their own:
the GIN indexes they had on PostgreSQL were written on every change and read by no query, and
migration ``a3d5c7e9f1b2`` dropped them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime

Tags = ARRAY(String(64)).with_variant(JSON(), "sqlite")


class SyncClientRow(Base):
    """One installation of the app: the user who owns it and its highest receipted seq."""

    __tablename__ = "sync_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(BigInteger)


class SyncReceipt(Base):
    """The remembered answer to one mutation (rule P-2); replayed for every retry."""

    __tablename__ = "sync_receipts"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    code: Mapped[str | None] = mapped_column(String(48))
    message: Mapped[str | None] = mapped_column(Text)
    message_zh: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SyncRecord(Base):
    """The device-facing copy of a record (rule L-1); tombstones have ``deleted``."""

    __tablename__ = "sync_records"

    collection: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column("id", String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience: Mapped[list[str]] = mapped_column(Tags)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncChange(Base):
    """The change log (rule L-2); ``cursor`` comes from :class:`SyncCounter` (rule C-3)."""

    __tablename__ = "sync_changes"

    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    collection: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column("id", String(64))
    op: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audience: Mapped[list[str]] = mapped_column(Tags)
    prev_audience: Mapped[list[str]] = mapped_column(Tags)
    origin: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SyncCounter(Base):
    """The single row whose update numbers the change log, serialising writers at commit."""

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class SyncMeta(Base):
    """The single row remembering the highest pruned cursor (rule T-1)."""

    __tablename__ = "sync_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    min_retained: Mapped[int] = mapped_column(BigInteger)


class SyncChangeTag(Base):
    """The scope index of the change log: one row per audience tag a change had before or
    after it (rule L-4), so a pull seeks ``(tag, cursor > X)`` for each of the user's tags
    instead of reading every change after the cursor. ``collection`` and ``origin`` ride
    along so the scope and own-change filters (L-5) need no look-up in ``sync_changes``."""

    __tablename__ = "sync_change_tags"
    __table_args__ = {"sqlite_with_rowid": False}

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    collection: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str | None] = mapped_column(String(64))


class SyncRecordTag(Base):
    """The scope index of the live device-facing records: a full resync (T-2) pages through
    ``(tag, collection, id)`` for each of the user's tags instead of every record."""

    __tablename__ = "sync_record_tags"
    __table_args__ = {"sqlite_with_rowid": False}

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    collection: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column("id", String(64), primary_key=True)


class SyncInbox(Base):
    """Deferred mutations received and not yet applied (rules D-2, D-5): written in one
    statement by a deferred push, deleted by the applier in the transaction that writes
    their receipts. ``args`` is the JSON text as received (orjson), decoded only to apply."""

    __tablename__ = "sync_inbox"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncPublishQueue(Base):
    """Cases the REST intake filed whose device-facing records are not written yet (rule
    L-2a): the report commits with one row here instead of its two records, their scope tags
    and change-log rows, and the cases are published in batches behind it (the sync
    applier), by a pull before it reads the change log, and by ``cgt sync-publish``. One row
    per case; on SQLite one B-tree (no rowid)."""

    __tablename__ = "sync_publish_queue"
    __table_args__ = {"sqlite_with_rowid": False}

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
