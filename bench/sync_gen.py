"""Bulk rows for the sync benchmarks: device-facing records and their change log, fast.

Pushing a million reports through the use case would take hours, so the large sync tables
are written here directly, in the shape the store itself writes (``server.sync_store``):
every record gets ``versions`` change-log rows numbered after the current counter, the
counter moves to the new top (so the high-water mark covers them), and the scope index rows
(``sync_change_tags``/``sync_record_tags``, when the schema has them) are written alongside.
SQLite gets one Core ``executemany`` per chunk, PostgreSQL ``COPY`` (psycopg 3).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, inspect, text

CHUNK = 20_000
Audience = Callable[[int], list[str]]
Data = Callable[[int, str], dict[str, Any]]


def _ids(seed: int) -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield str(uuid.UUID(int=(seed << 64) + n, version=4))


def _top(engine: Engine) -> int:
    with engine.begin() as conn:
        top = conn.execute(text("SELECT value FROM sync_counter WHERE id = 1")).scalar()
        if top is None:
            conn.execute(text("INSERT INTO sync_counter (id, value) VALUES (1, 0)"))
            top = 0
    return int(top)


def append(
    engine: Engine,
    n: int,
    *,
    collection: str,
    audience: Audience,
    data: Data,
    now: datetime,
    versions: int = 1,
    seed: int = 1,
) -> int:
    """Append ``n`` records with ``versions`` changes each; returns the new high water."""
    top = _top(engine)
    tables = set(inspect(engine).get_table_names())
    change_tags = "sync_change_tags" in tables
    record_tags = "sync_record_tags" in tables
    pg = engine.dialect.name == "postgresql"
    at = now.replace(tzinfo=None)
    ids = _ids(seed)
    cursor = top
    start = 0
    while start < n:
        stop = min(n, start + CHUNK)
        records, changes, ctags, rtags = [], [], [], []
        for i in range(start, stop):
            rid = next(ids)
            tags = sorted(audience(i))
            body = data(i, rid)
            for v in range(1, versions + 1):
                cursor += 1
                prev = tags if v > 1 else []
                changes.append((cursor, collection, rid, "upsert", v, body, tags, prev, None, at))
                ctags.extend((t, cursor, collection, None) for t in tags)
            records.append((collection, rid, versions, body, tags, False))
            rtags.extend((t, collection, rid) for t in tags)
        _load(engine, pg, "sync_records", RECORD_COLUMNS, records)
        _load(engine, pg, "sync_changes", CHANGE_COLUMNS, changes)
        if change_tags:
            _load(engine, pg, "sync_change_tags", CHANGE_TAG_COLUMNS, ctags)
        if record_tags:
            _load(engine, pg, "sync_record_tags", RECORD_TAG_COLUMNS, rtags)
        start = stop
    with engine.begin() as conn:
        conn.execute(text("UPDATE sync_counter SET value = :v WHERE id = 1"), {"v": cursor})
    return cursor


RECORD_COLUMNS = ("collection", "id", "version", "data", "audience", "deleted")
CHANGE_COLUMNS = (
    "cursor", "collection", "id", "op", "version", "data", "audience", "prev_audience",
    "origin", "at",
)  # fmt: skip
CHANGE_TAG_COLUMNS = ("tag", "cursor", "collection", "origin")
RECORD_TAG_COLUMNS = ("tag", "collection", "id")
_JSONISH = {"data", "audience", "prev_audience"}


def _load(
    engine: Engine, pg: bool, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if pg:
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None
            with conn.cursor() as cur:
                names = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(
                            [
                                json.dumps(v, ensure_ascii=False)
                                if c == "data" and v is not None
                                else v
                                for c, v in zip(columns, r, strict=True)
                            ]
                        )
            conn.commit()
        finally:
            raw.close()
        return
    sql = (
        f"INSERT INTO {table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    prepared = [
        tuple(
            json.dumps(v, ensure_ascii=False)
            if c in _JSONISH and v is not None
            else (v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v)
            for c, v in zip(columns, r, strict=True)
        )
        for r in rows
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql(sql, prepared)


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
