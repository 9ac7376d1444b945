"""The sync engine's server store on SQLAlchemy: PostgreSQL in production, SQLite embedded.

Implements ``sync.server_store.ServerStore`` on the tables of ``server.models.sync``. Cursor
safety (docs/sync-protocol.md, rule C-3): change numbers come from the single-row
``sync_counter``, updated as the last statement of the writing transaction; its row lock is
held until commit, so numbers become visible in the order they were given and the high-water
mark (the committed counter) never runs ahead of a change that is still in flight.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from sync import jsoncodec
from sync.errors import ReceiptConflict, SyncError, TransactionLost
from sync.protocol import Change, Op, RawJson, Status
from sync.server_store import (
    ClientState,
    InboxDepth,
    InboxRow,
    LoggedChange,
    NewChange,
    Receipt,
    Record,
)

from .models.sync import (
    SyncChange,
    SyncChangeTag,
    SyncClientRow,
    SyncCounter,
    SyncInbox,
    SyncMeta,
    SyncReceipt,
    SyncRecord,
    SyncRecordTag,
)
from .prepared import Prepared

_ONE = 1  # id of the single row of sync_counter and sync_meta
# session.info key where ``server.sync_publish`` notes records a flush touched and not yet
# published; a savepoint that is rolled back restores it with the rest.
PENDING = "cgt_sync_pending"


# Statements of every push, built once (building one costs more than running it on SQLite).
_R = SyncRecord.__table__
# IN on each key column: primary-key seeks on both engines (a row-value IN over VALUES is a
# table scan on SQLite); rows of the cross product nobody asked for are skipped.
_RECORDS = select(_R).where(
    _R.c.collection.in_(bindparam("collections", expanding=True)),
    _R.c.id.in_(bindparam("ids", expanding=True)),
)
# PostgreSQL: locked, so two transactions publishing one record number it in turn
_RECORDS_LOCKED = _RECORDS.with_for_update()
# The records of one id in at most two collections (a case's two views: every write of a
# single case), prepared: no expanding IN.
_OF_ID = select(_R).where(
    _R.c.id == bindparam("id"), _R.c.collection.in_([bindparam("c0"), bindparam("c1")])
)
_RECORDS_OF_ID, _RECORDS_OF_ID_LOCKED = Prepared(_OF_ID), Prepared(_OF_ID.with_for_update())
_C = SyncCounter.__table__
_BUMP = Prepared(
    update(_C)
    .where(_C.c.id == _ONE)
    .values(value=_C.c.value + bindparam("n"))
    .returning(_C.c.value)
)

_HIGH = select(_C.c.value).where(_C.c.id == _ONE)
_M = SyncMeta.__table__
_MARKS = select(
    _HIGH.scalar_subquery(), select(_M.c.min_retained).where(_M.c.id == _ONE).scalar_subquery()
)


_INSERT_RECORDS = Prepared(insert(_R))
_UPDATE_RECORDS = (
    update(_R)
    .where(_R.c.collection == bindparam("k_collection"), _R.c.id == bindparam("k_id"))
    .values(
        version=bindparam("version"),
        data=bindparam("data"),
        audience=bindparam("audience"),
        deleted=bindparam("deleted"),
    )
)
_RT = SyncRecordTag.__table__
_INSERT_RECORD_TAGS = Prepared(insert(_RT))
_DELETE_RECORD_TAGS = delete(_RT).where(
    _RT.c.tag == bindparam("k_tag"),
    _RT.c.collection == bindparam("k_c"),
    _RT.c.id == bindparam("k_id"),
)
_INSERT_CHANGES = Prepared(insert(SyncChange.__table__))

# The inbox of deferred pushes (docs/sync-protocol.md, rules D-*)
_I = SyncInbox.__table__
_CL = SyncClientRow.__table__
_INSERT_INBOX = Prepared(insert(_I))
_INBOX_TOP = Prepared(select(func.max(_I.c.seq)).where(_I.c.client_id == bindparam("c")))
_INBOX_SEQS = Prepared(
    select(_I.c.seq).where(
        _I.c.client_id == bindparam("c"), _I.c.seq >= bindparam("lo"), _I.c.seq <= bindparam("hi")
    )
)
_INBOX_ROWS = Prepared(
    select(_I.c.seq, _I.c.owner, _I.c.name, _I.c.args, _I.c.base_version, _I.c.received_at)
    .where(_I.c.client_id == bindparam("c"))
    .order_by(_I.c.seq)
    .limit(bindparam("lim"))
)
_DROP_INBOX = Prepared(
    delete(_I).where(_I.c.client_id == bindparam("c"), _I.c.seq <= bindparam("upto"))
)
_PEEK_CLIENT = select(_CL.c.owner, _CL.c.last_seq).where(_CL.c.client_id == bindparam("c"))
# PostgreSQL: another process applying this client holds its row; skip it (rule D-5)
_CLAIM_CLIENT_PG = _PEEK_CLIENT.with_for_update(skip_locked=True)
# SQLite: a write first takes the database's write lock, so what is read next is current
_CLAIM_CLIENT_SQLITE = (
    update(_CL).where(_CL.c.client_id == bindparam("c")).values(last_seq=_CL.c.last_seq)
)
_RECEIPTS = select(SyncReceipt.__table__).where(
    SyncReceipt.__table__.c.client_id == bindparam("c"),
    SyncReceipt.__table__.c.seq >= bindparam("lo"),
    SyncReceipt.__table__.c.seq <= bindparam("hi"),
)
_INSERT_CHANGE_TAGS = Prepared(insert(SyncChangeTag.__table__))


def _as_text(column: Any) -> Any:
    """A JSON column read as the text the database holds (no decoding: a pull page splices
    it into its body as it is). On PostgreSQL ``json`` keeps its input text verbatim."""
    return cast(column, Text).label(column.name)


_RAW = frozenset({"data", "audience", "prev_audience"})


def _tag_reader() -> Callable[[Any], frozenset[str]]:
    """Tags from a row (a JSON list's text on SQLite, an array on PostgreSQL), each distinct
    list decoded once per page: the records of a scope mostly share one audience."""
    memo: dict[Any, frozenset[str]] = {}

    def read(value: Any) -> frozenset[str]:
        key = value if isinstance(value, str) else tuple(value)
        tags = memo.get(key)
        if tags is None:
            tags = memo[key] = frozenset(json.loads(value) if isinstance(value, str) else value)
        return tags

    return read


def _tag_params(audiences: frozenset[str]) -> dict[str, str]:
    return {f"tag_{i}": tag for i, tag in enumerate(sorted(audiences))}


def _raw_columns(table: Any, pg: bool) -> list[Any]:
    """``table``'s columns, the JSON ones without SQLAlchemy's decoding: ``data`` as its
    text; the tag lists as text on SQLite (``_tag_reader`` decodes each distinct list once),
    as the driver's arrays on PostgreSQL."""
    return [
        _as_text(c) if c.name == "data" or (c.name in _RAW and not pg) else c for c in table.columns
    ]


@functools.cache
def _changes_statement(n_tags: int, by_collection: bool, by_origin: bool, pg: bool) -> Any:
    """The pull's read of the change log for a user with ``n_tags`` tags, built once per
    shape (building it costs more than running it); parameters ``tag_<i>``, ``after``,
    ``upto``, ``lim``, and ``collections`` / ``origin`` when filtered."""
    t = SyncChangeTag.__table__
    arms = []
    for i in range(n_tags):
        arm = select(t.c.cursor).where(
            t.c.tag == bindparam(f"tag_{i}"),
            t.c.cursor > bindparam("after"),
            t.c.cursor <= bindparam("upto"),
        )
        if by_collection:
            arm = arm.where(t.c.collection.in_(bindparam("collections", expanding=True)))
        if by_origin:
            arm = arm.where(or_(t.c.origin.is_(None), t.c.origin != bindparam("origin")))
        arms.append(arm.order_by(t.c.cursor).limit(bindparam("lim")).subquery())
    merged = union(*(select(a.c.cursor) for a in arms)).subquery()
    picked = select(merged.c.cursor).order_by(merged.c.cursor).limit(bindparam("lim")).subquery()
    c = SyncChange.__table__
    return (
        select(*_raw_columns(c, pg))
        .join(picked, c.c.cursor == picked.c.cursor)
        .order_by(c.c.cursor)
    )


@functools.cache
def _records_statement(n_tags: int, after: bool, by_collection: bool, pg: bool) -> Any:
    """A page of a full resync for a user with ``n_tags`` tags, built once per shape;
    parameters ``tag_<i>``, ``lim``, ``after_c`` / ``after_id``, ``collections``."""
    t = SyncRecordTag.__table__
    arms = []
    for i in range(n_tags):
        arm = select(t.c.collection, t.c.id).where(t.c.tag == bindparam(f"tag_{i}"))
        if after:
            arm = arm.where(
                tuple_(t.c.collection, t.c.id) > tuple_(bindparam("after_c"), bindparam("after_id"))
            )
        if by_collection:
            arm = arm.where(t.c.collection.in_(bindparam("collections", expanding=True)))
        arms.append(arm.order_by(t.c.collection, t.c.id).limit(bindparam("lim")).subquery())
    merged = union(*(select(a.c.collection, a.c.id) for a in arms)).subquery()
    picked = (
        select(merged.c.collection, merged.c.id)
        .order_by(merged.c.collection, merged.c.id)
        .limit(bindparam("lim"))
        .subquery()
    )
    r = SyncRecord.__table__
    raw = {c.name: c for c in _raw_columns(r, pg)}
    return (
        select(r.c.collection, r.c.id, r.c.version, raw["data"], raw["audience"])
        .join(picked, and_(r.c.collection == picked.c.collection, r.c.id == picked.c.id))
        .where(r.c.deleted.is_(False))
        .order_by(r.c.collection, r.c.id)
    )


def _insert(s: Session, model: Any) -> Any:
    dialect = s.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


class SqlServerTx:
    """One database transaction of the engine, on a session the caller commits.

    Device-facing records read or written in the transaction are kept in ``_records``
    (None: known to be absent); writes wait in ``_dirty`` and go to the database in bulk
    (Core ``executemany``) just before the change log is numbered, so a batch of mutations
    costs one INSERT and one UPDATE for all its records instead of one ORM flush each.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._pg = session.get_bind().dialect.name == "postgresql"
        self._records: dict[tuple[str, str], Record | None] = {}
        self._dirty: dict[tuple[str, str], Record] = {}
        self._stored: dict[tuple[str, str], frozenset[str]] = {}  # row in the DB: its live tags
        self._high: int | None = None  # the high-water mark read with min_retained_cursor

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

    def get_receipts(self, client_id: str, seqs: Sequence[int]) -> dict[int, Receipt]:
        if not seqs:
            return {}
        wanted = set(seqs)  # a range seek (a request's numbers follow each other), filtered
        found = self.session.execute(
            _RECEIPTS, {"c": client_id, "lo": min(wanted), "hi": max(wanted)}
        )
        rows = [r for r in found if r.seq in wanted]
        return {
            r.seq: Receipt(
                r.client_id,
                r.seq,
                r.name,
                Status(r.status),
                r.code,
                r.message,
                r.message_zh,
                dict(r.result),
                tuple(Change.from_json(c) for c in r.changes),
                r.at,
            )
            for r in rows
        }

    def put_receipts(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        rows = [
            {
                "client_id": r.client_id,
                "seq": r.seq,
                "name": r.name,
                "status": r.status.value,
                "code": r.code,
                "message": r.message,
                "message_zh": r.message_zh,
                "result": r.result,
                "changes": [c.to_json() for c in r.changes],
                "at": r.at,
            }
            for r in receipts
        ]
        try:
            self.session.execute(insert(SyncReceipt.__table__), rows)
        except IntegrityError as error:
            raise ReceiptConflict(f"{receipts[0].client_id} #{receipts[0].seq}…") from error

    # ------------------------------------------------------------ the inbox

    def peek_client(self, client_id: str) -> ClientState | None:
        row = self.session.execute(_PEEK_CLIENT, {"c": client_id}).first()
        return None if row is None else ClientState(row.owner, row.last_seq)

    def claim_client(self, client_id: str) -> ClientState | None:
        if self._pg:
            row = self.session.execute(_CLAIM_CLIENT_PG, {"c": client_id}).first()
            return None if row is None else ClientState(row.owner, row.last_seq)
        self.session.execute(_CLAIM_CLIENT_SQLITE, {"c": client_id})
        return self.peek_client(client_id)

    def inbox_top(self, client_id: str) -> int:
        return int(_INBOX_TOP.scalar(self.session.connection(), {"c": client_id}) or 0)

    def inbox_seqs(self, client_id: str, low: int, high: int) -> set[int]:
        rows = _INBOX_SEQS.execute(
            self.session.connection(), {"c": client_id, "lo": low, "hi": high}
        )
        return {r[0] for r in rows}

    def put_inbox(self, rows: Sequence[InboxRow]) -> None:
        if not rows:
            return
        dumps = jsoncodec.dumps
        try:
            _INSERT_INBOX.executemany(
                self.session.connection(),
                [
                    {
                        "client_id": r.client_id,
                        "seq": r.seq,
                        "owner": r.owner,
                        "name": r.name,
                        "args": dumps(r.args),
                        "base_version": r.base_version,
                        "received_at": r.received_at,
                    }
                    for r in rows
                ],
            )
        except IntegrityError as error:
            raise ReceiptConflict(f"{rows[0].client_id} #{rows[0].seq}… in the inbox") from error

    def inbox_rows(self, client_id: str, limit: int) -> list[InboxRow]:
        rows = _INBOX_ROWS.execute(self.session.connection(), {"c": client_id, "lim": limit})
        loads = jsoncodec.loads
        return [
            InboxRow(client_id, seq, owner, name, loads(args), base, at)
            for seq, owner, name, args, base, at in rows
        ]

    def drop_inbox(self, client_id: str, upto: int) -> None:
        _DROP_INBOX.execute(self.session.connection(), {"c": client_id, "upto": upto})

    def inbox_clients(self, limit: int) -> list[tuple[str, str]]:
        first = func.min(_I.c.received_at)
        rows = self.session.execute(
            select(_I.c.client_id, _I.c.owner)
            .group_by(_I.c.client_id, _I.c.owner)
            .order_by(first, _I.c.client_id)
            .limit(limit)
        )
        return [(r.client_id, r.owner) for r in rows]

    def inbox_depth(self) -> list[InboxDepth]:
        rows = self.session.execute(
            select(
                _I.c.client_id,
                _I.c.owner,
                func.count(),
                func.min(_I.c.seq),
                func.min(_I.c.received_at),
            )
            .group_by(_I.c.client_id, _I.c.owner)
            .order_by(func.min(_I.c.received_at), _I.c.client_id)
        )
        return [InboxDepth(c, o, int(n), int(first), at) for c, o, n, first, at in rows]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        s = self.session
        outer = s.get_transaction()
        saved = (dict(self._records), dict(self._dirty), dict(self._stored))
        pending = set(s.info.get(PENDING, ()))
        nested = s.begin_nested()
        try:
            yield
        except BaseException as error:
            if outer is None or not outer.is_active or s.get_transaction() is not outer:
                raise TransactionLost("rolled back inside a mutation") from error
            nested.rollback()
            self._records, self._dirty, self._stored = saved
            s.info[PENDING] = pending
            raise
        if outer is None or not outer.is_active or s.get_transaction() is not outer:
            raise TransactionLost("rolled back inside a mutation")
        nested.commit()

    # ------------------------------------------------------------ records and the log

    def get_record(self, collection: str, id: str) -> Record | None:
        key = (collection, id)
        if key not in self._records:
            self.prefetch_records([key])
        return self._records[key]

    def known_absent(self, keys: Sequence[tuple[str, str]]) -> None:
        """Records the caller knows do not exist (the views of a case inserted in this
        transaction: its id was free, so nothing was ever published under it): no read.
        Were one there after all, writing it as new fails on the primary key and the
        transaction rolls back, as any clash does."""
        for k in keys:
            self._records.setdefault(k, None)

    def prefetch_records(self, keys: Sequence[tuple[str, str]]) -> None:
        """Read the records of ``keys`` not yet known to this transaction in one query (a push
        publishing many new cases, or one case's two views), so ``get_record`` finds them."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._records]
        if not wanted:
            return
        pending = set(wanted)
        for k in wanted:
            self._records[k] = None
        collections = sorted({c for c, _ in wanted})
        ids = sorted({i for _, i in wanted})
        conn = self.session.connection()
        rows: Any
        if len(ids) == 1 and len(collections) <= 2:
            params = {"id": ids[0], "c0": collections[0], "c1": collections[-1]}
            rows = (_RECORDS_OF_ID_LOCKED if self._pg else _RECORDS_OF_ID).execute(conn, params)
        else:
            rows = conn.execute(
                _RECORDS_LOCKED if self._pg else _RECORDS, {"collections": collections, "ids": ids}
            )
        for collection, id, version, data, audience, deleted in rows:
            key = (collection, id)
            if key not in pending:
                continue
            record = Record(collection, id, version, dict(data), frozenset(audience), deleted)
            self._stored[key] = frozenset() if record.deleted else record.audience
            self._records[key] = record

    def put_record(self, record: Record) -> None:
        key = (record.collection, record.id)
        self._records[key] = record
        self._dirty[key] = record

    def _write_records(self) -> None:
        """The records written in this transaction, in two bulk statements."""
        if not self._dirty:
            return
        new, changed = [], []
        for key, r in self._dirty.items():
            row = {
                "collection": r.collection,
                "id": r.id,
                "version": r.version,
                "data": r.data,
                "audience": sorted(r.audience),
                "deleted": r.deleted,
            }
            (changed if key in self._stored else new).append(row)
        conn = self.session.connection()
        if new:
            _INSERT_RECORDS.executemany(conn, new)
        if changed:
            conn.execute(
                _UPDATE_RECORDS,
                [
                    {
                        "k_collection": row["collection"],
                        "k_id": row["id"],
                        "version": row["version"],
                        "data": row["data"],
                        "audience": row["audience"],
                        "deleted": row["deleted"],
                    }
                    for row in changed
                ],
            )
        self._write_record_tags()
        self._dirty.clear()

    def _write_record_tags(self) -> None:
        """Keep the records' scope index equal to their live audiences."""
        gone, added = [], []
        for key, r in self._dirty.items():
            now = frozenset() if r.deleted else r.audience
            before = self._stored.get(key, frozenset())
            gone += [{"k_tag": tag, "k_c": key[0], "k_id": key[1]} for tag in before - now]
            added += [{"tag": tag, "collection": key[0], "id": key[1]} for tag in now - before]
            self._stored[key] = now
        if gone:
            self.session.connection().execute(_DELETE_RECORD_TAGS, gone)
        if added:
            _INSERT_RECORD_TAGS.executemany(self.session.connection(), added)

    def append_changes(self, changes: Sequence[NewChange]) -> None:
        s = self.session
        s.flush()  # every other write first: the counter's row lock is taken last (C-3)
        self._write_records()
        if not changes:
            return
        top = self._take(len(changes))
        first = top - len(changes) + 1
        conn = s.connection()
        _INSERT_CHANGES.executemany(
            conn,
            [
                {
                    "cursor": first + i,
                    "collection": c.collection,
                    "id": c.id,
                    "op": c.op.value,
                    "version": c.version,
                    "data": c.data,
                    "audience": sorted(c.audience),
                    "prev_audience": sorted(c.prev_audience),
                    "origin": c.origin,
                    "at": c.at,
                }
                for i, c in enumerate(changes)
            ],
        )
        _INSERT_CHANGE_TAGS.executemany(
            conn,
            [
                {"tag": tag, "cursor": first + i, "collection": c.collection, "origin": c.origin}
                for i, c in enumerate(changes)
                for tag in sorted(c.audience | c.prev_audience)
            ],
        )

    def finish(self) -> None:
        """Before commit: records written without a logged change (none today) still land."""
        self._write_records()

    def _take(self, n: int) -> int:
        s = self.session
        self._high = None
        top = _BUMP.scalar(s.connection(), {"n": n})
        if top is None:  # first change ever: create the row, then take numbers as usual
            s.execute(
                _insert(s, SyncCounter)
                .values(id=_ONE, value=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            top = _BUMP.scalar(s.connection(), {"n": n})
        return int(top)

    def high_water(self) -> int:
        if self._high is not None:
            return self._high
        value = self.session.connection().execute(_HIGH).scalar()
        return int(value or 0)

    def changes_query(
        self,
        cursor: int,
        upto: int,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        exclude_origin: str | None,
        limit: int,
    ) -> tuple[Any, dict[str, Any]] | None:
        """The page's changes through the scope index: for each of the user's tags an index
        range ``(tag, cursor > X)`` of at most ``limit`` rows, merged, the first ``limit``
        cursors kept, then their rows by primary key. Its cost grows with the changes that
        concern the user, not with the log (the empty sync is a few index seeks). Returns the
        statement (built once per shape, ``_changes_statement``) and its parameters."""
        if not audiences:
            return None
        stmt = _changes_statement(
            len(audiences), bool(collections), exclude_origin is not None, self._pg
        )
        params: dict[str, Any] = {"after": cursor, "upto": upto, "lim": limit}
        params.update(_tag_params(audiences))
        if collections:
            params["collections"] = list(collections)
        if exclude_origin is not None:
            params["origin"] = exclude_origin
        return stmt, params

    def changes_after(
        self,
        cursor: int,
        upto: int,
        audiences: frozenset[str],
        collections: tuple[str, ...],
        exclude_origin: str | None,
        limit: int,
    ) -> list[LoggedChange]:
        query = self.changes_query(cursor, upto, audiences, collections, exclude_origin, limit)
        if query is None:
            return []
        rows = self.session.connection().execute(*query).all()
        tags = _tag_reader()
        return [
            LoggedChange(
                r.cursor,
                NewChange(
                    r.collection,
                    r.id,
                    Op(r.op),
                    r.version,
                    None if r.data is None else RawJson(r.data),  # spliced in as stored
                    tags(r.audience),
                    tags(r.prev_audience),
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
        """A page of the user's live records through the scope index, merged over their tags
        as ``changes_query`` does, in ``(collection, id)`` order."""
        if not audiences:
            return []
        stmt = _records_statement(len(audiences), after is not None, bool(collections), self._pg)
        params: dict[str, Any] = {"lim": limit}
        params.update(_tag_params(audiences))
        if after is not None:
            params["after_c"], params["after_id"] = after
        if collections:
            params["collections"] = list(collections)
        rows = self.session.connection().execute(stmt, params).all()
        # ``data`` stays the text the store holds: the page encoder splices it in (RawJson)
        tags = _tag_reader()
        return [Record(c, i, v, RawJson(d), tags(a)) for c, i, v, d, a in rows]

    # ------------------------------------------------------------ retention

    def min_retained_cursor(self) -> int:
        """Read with the high-water mark in one statement (a pull asks for both, this
        first); ``high_water`` then answers from it, which is safe: a mark read earlier in
        the transaction is still one below which every change has committed (C-3)."""
        high, oldest = self.session.connection().execute(_MARKS).one()
        self._high = int(high or 0)
        return int(oldest or 0)

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
            s.execute(delete(SyncChangeTag).where(SyncChangeTag.cursor <= gone))
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
            tx = SqlServerTx(s)
            yield tx
            tx.finish()
            s.commit()
        except DBAPIError as error:  # the store failed, not the mutation: retry later (P-8)
            s.rollback()
            raise SyncError(f"database: {error.orig!r}") from error
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
