"""The phone's store: the ``ClientStore`` protocol on stdlib ``sqlite3``.

WAL journal and one ``BEGIN IMMEDIATE … COMMIT`` per engine transaction: a page and its
cursor, or a mutation and its outbox row, land together or not at all, whenever the app is
killed. Commits are ``synchronous=FULL`` (fsync) except those the engine marks not durable —
what the server can give again (pulled pages, settled push answers) — which skip the fsync and
may be lost, whole, only to a power cut.

The schema migrates itself forward when the app updates (rule V-4): ``MIGRATIONS[n]`` takes a
file from version ``n`` to ``n + 1`` and ``PRAGMA user_version`` records the version reached,
both in one transaction, so a step killed half-way leaves the file at the version before it,
and the next start runs it again. Files of the first release kept their version in a
``schema_version`` table; they are read as such and step 2 moves them to ``user_version``. A
file newer than this app (it was downgraded) is refused rather than misread. Every step keeps
the outbox: the user's unsent work is never dropped by an update.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .. import jsoncodec
from ..client_store import EntryStatus, LocalRecord, OutboxEntry, Overlay, PhotoItem, PhotoStatus
from ..errors import SyncError
from ..protocol import Json

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        local_id TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        base_version INTEGER,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        code TEXT, message TEXT, message_zh TEXT
    );
    CREATE INDEX outbox_status ON outbox (status, seq);
    CREATE TABLE records (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT,
        PRIMARY KEY (collection, id)
    );
    CREATE TABLE overlay (
        seq INTEGER NOT NULL,
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (seq, collection, id)
    );
    CREATE INDEX overlay_record ON overlay (collection, id, seq);
    """,
    # 2: the photo queue gets a table of its own (it was JSON in meta under "photo:<sha256>"),
    #    so the app can ask about one photo, or count them, without reading every item;
    #    the version moves from the schema_version table to PRAGMA user_version
    """
    CREATE TABLE photos (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mime TEXT NOT NULL,
        sent INTEGER NOT NULL,
        status TEXT NOT NULL,
        failures INTEGER NOT NULL,
        retry_at TEXT,
        code TEXT, message TEXT, message_zh TEXT
    );
    INSERT INTO photos
        SELECT json_extract(value, '$.sha256'), json_extract(value, '$.size'),
               json_extract(value, '$.mime'), coalesce(json_extract(value, '$.offset'), 0),
               json_extract(value, '$.status'), coalesce(json_extract(value, '$.failures'), 0),
               json_extract(value, '$.retry_at'), json_extract(value, '$.code'),
               json_extract(value, '$.message'), json_extract(value, '$.message_zh')
        FROM meta WHERE substr(key, 1, 6) = 'photo:' ORDER BY key;
    DELETE FROM meta WHERE substr(key, 1, 6) = 'photo:';
    DROP TABLE IF EXISTS schema_version
    """,
    # 3: outbox entries may have the status 'sent' (the server's inbox has them, protocol
    #    rule D-8); no table changes, but an older app must refuse the file, not misread it
    """
    UPDATE meta SET value = value WHERE key = 'client_id'
    """,
]


_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a top-level data field, safe in a JSON path


class StoreTooNew(SyncError):
    """The store file was written by a newer app than this one (the app was downgraded)."""


def _dump(data: Json | None) -> str | None:
    return None if data is None else jsoncodec.dumps(data)


def _load(text: str | None) -> Json | None:
    if text is None:
        return None
    value = jsoncodec.loads(text)
    assert isinstance(value, dict)
    return value


def _photo(row: sqlite3.Row) -> PhotoItem:
    return PhotoItem(
        sha256=row["sha256"],
        size=row["size"],
        mime=row["mime"],
        offset=row["sent"],
        status=PhotoStatus(row["status"]),
        failures=row["failures"],
        retry_at=row["retry_at"],
        code=row["code"],
        message=row["message"],
        message_zh=row["message_zh"],
    )


_ENTRY_STATUS = {s.value: s for s in EntryStatus}


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        seq=row["seq"],
        local_id=row["local_id"],
        name=row["name"],
        args=_load(row["args"]) or {},
        base_version=row["base_version"],
        created_at=datetime.fromisoformat(row["created_at"]),
        status=_ENTRY_STATUS[row["status"]],
        code=row["code"],
        message=row["message"],
        message_zh=row["message_zh"],
    )


class SqliteClientTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key = ?", (key,))

    def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [(str(k), str(v)) for k, v in rows]

    def add_outbox(self, entry: OutboxEntry) -> None:
        self.db.execute(
            "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.seq,
                entry.local_id,
                entry.name,
                _dump(entry.args),
                entry.base_version,
                entry.created_at.isoformat(),
                entry.status.value,
                entry.code,
                entry.message,
                entry.message_zh,
            ),
        )

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.delete_outbox(entry.seq)
        self.add_outbox(entry)

    def get_outbox(self, seq: int) -> OutboxEntry | None:
        row = self.db.execute("SELECT * FROM outbox WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else _entry(row)

    def delete_outbox(self, seq: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def set_status(self, seqs: Sequence[int], status: EntryStatus) -> None:
        for i in range(0, len(seqs), 1000):  # one statement a batch (≤ 32,766 parameters)
            part = list(seqs[i : i + 1000])
            self.db.execute(
                f"UPDATE outbox SET status = ? WHERE seq IN ({', '.join('?' * len(part))})",
                [status.value, *part],
            )

    def outbox(self, status: EntryStatus, limit: int, after: int = 0) -> list[OutboxEntry]:
        rows = self.db.execute(
            "SELECT * FROM outbox WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?",
            (status.value, after, limit),
        )
        return [_entry(r) for r in rows]

    def count_outbox(self, status: EntryStatus) -> int:
        row = self.db.execute("SELECT count(*) FROM outbox WHERE status = ?", (status.value,))
        return int(row.fetchone()[0])

    def get_record(self, collection: str, id: str) -> LocalRecord | None:
        row = self.db.execute(
            "SELECT version, data FROM records WHERE collection = ? AND id = ?", (collection, id)
        ).fetchone()
        return None if row is None else LocalRecord(collection, id, row[0], _load(row[1]))

    def put_record(self, record: LocalRecord) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
            (record.collection, record.id, record.version, _dump(record.data)),
        )

    def put_records_if_newer(self, records: Sequence[LocalRecord]) -> None:
        self.db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE "
            "SET version = excluded.version, data = excluded.data "
            "WHERE excluded.version >= records.version",
            [(r.collection, r.id, r.version, _dump(r.data)) for r in records],
        )

    def records(self, collection: str) -> list[LocalRecord]:
        rows = self.db.execute(
            "SELECT id, version, data FROM records WHERE collection = ? ORDER BY id", (collection,)
        )
        return [LocalRecord(collection, i, v, _load(d)) for i, v, d in rows]

    def records_matching(
        self, collection: str, where: Mapping[str, Collection[str | int]]
    ) -> list[LocalRecord]:
        sql = "SELECT id, version, data FROM records WHERE collection = ? AND data IS NOT NULL"
        params: list[object] = [collection]
        for key, values in where.items():
            if not _FIELD.match(key):
                raise ValueError(f"not a plain field name: {key!r}")
            options = list(values)
            if not options:
                return []
            sql += f" AND json_extract(data, '$.{key}') IN ({', '.join('?' * len(options))})"
            params += options
        rows = self.db.execute(sql + " ORDER BY id", params)
        return [LocalRecord(collection, i, v, _load(d)) for i, v, d in rows]

    def collections(self) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT collection FROM records ORDER BY collection")
        return [str(r[0]) for r in rows]

    def tombstone_all(self) -> None:
        self.db.execute("UPDATE records SET data = NULL")

    def put_overlay(self, overlay: Overlay) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO overlay VALUES (?, ?, ?, ?)",
            (overlay.seq, overlay.collection, overlay.id, _dump(overlay.data)),
        )

    def latest_overlay(self, collection: str, id: str) -> Overlay | None:
        row = self.db.execute(
            "SELECT seq, data FROM overlay WHERE collection = ? AND id = ? "
            "ORDER BY seq DESC LIMIT 1",
            (collection, id),
        ).fetchone()
        return None if row is None else Overlay(row[0], collection, id, _load(row[1]))

    def overlays(self, collection: str) -> list[Overlay]:
        rows = self.db.execute(
            "SELECT o.seq, o.id, o.data FROM overlay o WHERE o.collection = ? AND o.seq = "
            "(SELECT max(seq) FROM overlay WHERE collection = o.collection AND id = o.id) "
            "ORDER BY o.id",
            (collection,),
        )
        return [Overlay(s, collection, i, _load(d)) for s, i, d in rows]

    def drop_overlay(self, seq: int) -> None:
        self.db.execute("DELETE FROM overlay WHERE seq = ?", (seq,))

    def get_photo(self, sha256: str) -> PhotoItem | None:
        row = self.db.execute("SELECT * FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _photo(row)

    def put_photo(self, item: PhotoItem) -> None:
        values = (
            item.size,
            item.mime,
            item.offset,
            item.status.value,
            item.failures,
            item.retry_at,
            item.code,
            item.message,
            item.message_zh,
            item.sha256,
        )
        updated = self.db.execute(
            "UPDATE photos SET size = ?, mime = ?, sent = ?, status = ?, failures = ?, "
            "retry_at = ?, code = ?, message = ?, message_zh = ? WHERE sha256 = ?",
            values,
        )
        if updated.rowcount == 0:  # a new photo goes to the end of the queue
            self.db.execute(
                "INSERT INTO photos (size, mime, sent, status, failures, retry_at, code, "
                "message, message_zh, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def photos(self) -> list[PhotoItem]:
        return [_photo(r) for r in self.db.execute("SELECT * FROM photos ORDER BY rowid")]

    def delete_photo(self, sha256: str) -> None:
        self.db.execute("DELETE FROM photos WHERE sha256 = ?", (sha256,))


class SqliteClientStore:
    """The device store in one SQLite file; open it at app start, close it at exit."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.migrate()

    def schema_version(self) -> int:
        """The version the file is at: ``user_version``, or a first release's table."""
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version:
            return version
        legacy = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if not legacy:
            return 0
        row = self.db.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def migrate(self) -> None:
        """Bring the schema up to date, one step per transaction. Two connections opening
        one file at once (the app's two engines) take turns: each step re-reads the version
        under the write lock, so none runs twice."""
        while True:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                current = self.schema_version()
                if current > len(MIGRATIONS):
                    raise StoreTooNew(
                        f"{self.path} is at schema {current}; this app knows {len(MIGRATIONS)}"
                    )
                if current == len(MIGRATIONS):
                    self.db.execute("COMMIT")
                    return
                for statement in MIGRATIONS[current].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {current + 1}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[SqliteClientTx]:
        if not durable:  # WAL without fsync at commit: safe when the app dies, not the phone
            self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteClientTx(self.db)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        finally:
            if not durable:
                self.db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self.db.close()
