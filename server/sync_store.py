"""The sync engine's server store on SQLAlchemy: PostgreSQL in production, SQLite embedded.

Implements ``sync.server_store.ServerStore`` on the tables of ``server.models.sync``. Cursor
safety (docs/sync-protocol.md, rule C-3): change numbers come from the single-row
``sync_counter``, updated as the last statement of the writing transaction; its row lock is
held until commit, so numbers become visible in the order they were given and the high-water
mark (the committed counter) never runs ahead of a change that is still in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from sync.errors import ReceiptConflict, SyncError
from sync.protocol import Change, Op, Status
from sync.server_store import ClientState, LoggedChange, NewChange, Receipt, Record

from .models.sync import (
    SyncChange,
    SyncClientRow,
    SyncCounter,
    SyncMeta,
    SyncReceipt,
    SyncRecord,
)

_ONE = 1  # id of the single row of sync_counter and sync_meta


def _insert(s: Session, model: Any) -> Any:
    dialect = s.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


class SqlServerTx:
    """One database transaction of the engine, on a session the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._pg = session.get_bind().dialect.name == "postgresql"
        self._absent: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ clients and receipts

    def client_state(self, client_id: str, owner: str) -> ClientState:
        s = self.session
        s.execute(
            _insert(s, SyncClientRow)
            .values(client_id=client_id, owner=owner, last_seq=0)
            .on_conflict_do_nothing(index_elements=["client_id"])
        )
        row = s.execute(
            select(SyncClientRow.owner, SyncClientRow.last_seq)
            .where(SyncClientRow.client_id == client_id)
            .with_for_update()  # rule P-10: concurrent copies of a push queue up here
        ).one()
        return ClientState(row.owner, row.last_seq)

    def set_last_seq(self, client_id: str, seq: int) -> None:
        self.session.execute(
            update(SyncClientRow).where(SyncClientRow.client_id == client_id).values(last_seq=seq)
        )

    def get_receipt(self, client_id: str, seq: int) -> Receipt | None:
        row = self.session.get(SyncReceipt, (client_id, seq))
        if row is None:
            return None
        return Receipt(
            row.client_id,
            row.seq,
            row.name,
            Status(row.status),
            row.code,
            row.message,
            row.message_zh,
            dict(row.result),
            tuple(Change.from_json(c) for c in row.changes),
            row.at,
        )

    def put_receipt(self, receipt: Receipt) -> None:
        s = self.session
        s.add(
            SyncReceipt(
                client_id=receipt.client_id,
                seq=receipt.seq,
                name=receipt.name,
                status=receipt.status.value,
                code=receipt.code,
                message=receipt.message,
                message_zh=receipt.message_zh,
                result=receipt.result,
                changes=[c.to_json() for c in receipt.changes],
                at=receipt.at,
            )
        )
        try:
            s.flush()
        except IntegrityError as error:
            raise ReceiptConflict(f"{receipt.client_id} #{receipt.seq}") from error

    # ------------------------------------------------------------ records and the log

    def get_record(self, collection: str, id: str) -> Record | None:
        if (collection, id) in self._absent:
            return None  # already looked for in this transaction (the identity map has no misses)
        # Locked, so two transactions publishing one record number its versions one by one.
        row = self.session.get(SyncRecord, (collection, id), with_for_update=self._pg)
        if row is None:
            self._absent.add((collection, id))
            return None
        return Record(
            row.collection,
            row.record_id,
            row.version,
            dict(row.data),
            frozenset(row.audience),
            row.deleted,
        )

    def put_record(self, record: Record) -> None:
        key = (record.collection, record.id)
        if key in self._absent:  # looked for and missing: no second query to learn it again
            self._absent.discard(key)
            row = None
        else:
            row = self.session.get(SyncRecord, key)
        if row is None:
            row = SyncRecord(collection=record.collection, record_id=record.id)
            self.session.add(row)
        row.version = record.version
        row.data = record.data
        row.audience = sorted(record.audience)
        row.deleted = record.deleted

    def append_changes(self, changes: Sequence[NewChange]) -> None:
        if not changes:
            return
        s = self.session
        s.flush()  # every other write first: the counter's row lock is taken last (C-3)
        top = self._take(len(changes))
        first = top - len(changes) + 1
        s.add_all(
            SyncChange(
                cursor=first + i,
                collection=c.collection,
                record_id=c.id,
                op=c.op.value,
                version=c.version,
                data=c.data,
                audience=sorted(c.audience),
                prev_audience=sorted(c.prev_audience),
                origin=c.origin,
                at=c.at,
            )
            for i, c in enumerate(changes)
        )
        s.flush()

    def _take(self, n: int) -> int:
        s = self.session
        bump = (
            update(SyncCounter)
            .where(SyncCounter.id == _ONE)
            .values(value=SyncCounter.value + n)
            .returning(SyncCounter.value)
        )
        top = s.execute(bump).scalar()
        if top is None:  # first change ever: create the row, then take numbers as usual
            s.execute(
                _insert(s, SyncCounter)
                .values(id=_ONE, value=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            top = s.execute(bump).scalar_one()
        return int(top)

    def high_water(self) -> int:
        value = self.session.scalar(select(SyncCounter.value).where(SyncCounter.id == _ONE))
        return int(value or 0)

    def _meets(self, column: Any, tags: list[str]) -> Any:
        if self._pg:
            return column.overlap(tags)
        each = func.json_each(column).table_valued("value").alias()
        return exists(select(1).select_from(each).where(each.c.value.in_(tags)))

    def changes_after(
        self,
        cursor: int,
        upto: int,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        exclude_origin: str | None,
        limit: int,
    ) -> list[LoggedChange]:
        tags = sorted(audiences)
        stmt = select(SyncChange).where(
            SyncChange.cursor > cursor,
            SyncChange.cursor <= upto,
            or_(
                self._meets(SyncChange.audience, tags), self._meets(SyncChange.prev_audience, tags)
            ),
        )
        if collections:
            stmt = stmt.where(SyncChange.collection.in_(collections))
        if exclude_origin is not None:
            stmt = stmt.where(or_(SyncChange.origin.is_(None), SyncChange.origin != exclude_origin))
        rows = self.session.scalars(stmt.order_by(SyncChange.cursor).limit(limit))
        return [
            LoggedChange(
                r.cursor,
                NewChange(
                    r.collection,
                    r.record_id,
                    Op(r.op),
                    r.version,
                    r.data,
                    frozenset(r.audience),
                    frozenset(r.prev_audience),
                    r.origin,
                    r.at,
                ),
            )
            for r in rows
        ]

    def records_after(
        self,
        after: tuple[str, str] | None,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        limit: int,
    ) -> list[Record]:
        stmt = select(SyncRecord).where(
            SyncRecord.deleted.is_(False), self._meets(SyncRecord.audience, sorted(audiences))
        )
        if after is not None:
            key = tuple_(SyncRecord.collection, SyncRecord.record_id)
            stmt = stmt.where(
                key > tuple_(*after)
                if self._pg
                else or_(
                    SyncRecord.collection > after[0],
                    and_(SyncRecord.collection == after[0], SyncRecord.record_id > after[1]),
                )
            )
        if collections:
            stmt = stmt.where(SyncRecord.collection.in_(collections))
        rows = self.session.scalars(
            stmt.order_by(SyncRecord.collection, SyncRecord.record_id).limit(limit)
        )
        return [
            Record(r.collection, r.record_id, r.version, dict(r.data), frozenset(r.audience))
            for r in rows
        ]

    # ------------------------------------------------------------ retention

    def min_retained_cursor(self) -> int:
        value = self.session.scalar(select(SyncMeta.min_retained).where(SyncMeta.id == _ONE))
        return int(value or 0)

    def prune(self, before: datetime, receipts_before: datetime | None = None) -> None:
        s = self.session
        gone = s.scalar(select(func.max(SyncChange.cursor)).where(SyncChange.at < before))
        if gone is not None:
            s.execute(
                _insert(s, SyncMeta)
                .values(id=_ONE, min_retained=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            s.execute(
                update(SyncMeta)
                .where(SyncMeta.id == _ONE, SyncMeta.min_retained < gone)
                .values(min_retained=gone)
            )
            s.execute(delete(SyncChange).where(SyncChange.cursor <= gone))
        # Refused receipts stay: a retried refusal must never read as "already applied" (P-9).
        s.execute(
            delete(SyncReceipt).where(
                SyncReceipt.at < (receipts_before or before),
                SyncReceipt.status == Status.APPLIED.value,
            )
        )


class SqlServerStore:
    """``ServerStore`` over a session factory; each transaction is a session of its own."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self.factory = factory

    @contextmanager
    def transaction(self) -> Iterator[SqlServerTx]:
        s = self.factory()
        try:
            yield SqlServerTx(s)
            s.commit()
        except DBAPIError as error:  # the store failed, not the mutation: retry later (P-8)
            s.rollback()
            raise SyncError(f"database: {error.orig!r}") from error
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
