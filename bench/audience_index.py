"""Which indexes does a pull use? EXPLAIN on a large change log: the scope index
(``sync_change_tags``, ``sync_record_tags``) for every pull.

    python -m bench.audience_index [--rows 1000000] [--users 100000] [--gin]

PostgreSQL only. Fills a scratch database's ``sync_changes`` and ``sync_records`` with
``rows`` rows shaped like the real ones (half staff copies of cases for 500 grid cells and 40
departments, half reporters' copies for ``users`` citizens, one in 3,333 a public category),
then runs the *exact* statements ``server.sync_store.SqlServerTx`` sends for three pulls of one
citizen and prints each plan and time:

- ``first pull``: the full resync page, ``records_after`` (nothing yet, 101 rows wanted);
- ``log from 0``: ``changes_after`` from the start of the log;
- ``nothing new``: ``changes_after`` from the high-water mark (must stay on the primary key).

``--gin`` first builds the GIN indexes on the audience arrays that migration ``a3d5c7e9f1b2``
dropped, to show that the planner still does not choose them.
Results are in docs/operations.md ("Sync indexes").
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server.models.sync import SyncChange, SyncChangeTag, SyncCounter, SyncRecord, SyncRecordTag
from server.sync_store import SqlServerTx

from .common import scratch_db

FILL_CHANGES = """
INSERT INTO sync_changes (cursor, collection, id, op, version, data, audience, prev_audience,
                          origin, at)
SELECT g,
       CASE WHEN g % 2 = 0 THEN 'cases' WHEN g % 3333 = 1 THEN 'categories'
            ELSE 'my_reports' END,
       'rec-' || g, 'upsert', 1, '{"state": "reported"}'::json,
       CASE WHEN g % 2 = 0
            THEN ARRAY['role:dispatcher', 'grid:' || (g % 500), 'dept:' || (g % 40)]
            WHEN g % 3333 = 1 THEN ARRAY['public']
            ELSE ARRAY['user:' || (g % :users)] END::varchar(64)[],
       '{}'::varchar(64)[], NULL, now()
FROM generate_series(1, :rows) AS g
"""
FILL_RECORDS = """
INSERT INTO sync_records (collection, id, version, data, audience, deleted)
SELECT collection, id, version, data, audience, false FROM sync_changes
"""
# The scope index the store reads through (server/sync_store.py), as migration 5c0f3e9a7b21
# backfills it.
FILL_TAGS = (
    "INSERT INTO sync_change_tags (tag, cursor, collection, origin) "
    "SELECT DISTINCT t, cursor, collection, origin FROM sync_changes, "
    "unnest(audience || prev_audience) AS t",
    "INSERT INTO sync_record_tags (tag, collection, id) "
    "SELECT DISTINCT t, collection, id FROM sync_records, unnest(audience) AS t",
)


# The GIN indexes the audience arrays had until migration a3d5c7e9f1b2 (``--gin``).
GIN = (
    "CREATE INDEX ix_sync_changes_audience ON sync_changes USING gin (audience)",
    "CREATE INDEX ix_sync_changes_prev_audience ON sync_changes USING gin (prev_audience)",
    "CREATE INDEX ix_sync_records_audience ON sync_records USING gin (audience)",
)


def fill(engine: Engine, rows: int, users: int, gin: bool = False) -> None:
    tables = [SyncChange.__table__, SyncRecord.__table__, SyncCounter.__table__,
              SyncChangeTag.__table__, SyncRecordTag.__table__]  # fmt: skip
    SyncChange.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text(FILL_CHANGES), {"rows": rows, "users": users})
        conn.execute(text(FILL_RECORDS))
        for statement in FILL_TAGS:
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO sync_counter (id, value) VALUES (1, :n)"), {"n": rows})
        for statement in GIN if gin else ():
            conn.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE sync_changes"))
        conn.execute(text("VACUUM ANALYZE sync_records"))
        conn.execute(text("VACUUM ANALYZE sync_change_tags"))
        conn.execute(text("VACUUM ANALYZE sync_record_tags"))


def captured(engine: Engine, call: Callable[[SqlServerTx], Any]) -> tuple[str, Any]:
    """The SQL statement and parameters ``call`` sends (its last SELECT)."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with Session(engine) as s:
            call(SqlServerTx(s))
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen[-1]


def explain(engine: Engine, sql: str, params: Any) -> tuple[list[str], float]:
    """Plan lines and execution time (ms) of ``sql``."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        lines = [r[0] for r in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    ms = next(
        (float(m.group(1)) for ln in lines if (m := re.search(r"Execution Time: ([\d.]+)", ln))),
        -1.0,
    )
    return lines, ms


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.audience_index", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--gin", action="store_true", help="build the dropped GIN indexes first")
    args = p.parse_args(argv)
    tags = frozenset({"user:4243", "public"})  # a citizen with ~10 reports, ~300 public rows
    with scratch_db("postgresql", "cgt_bench_gin") as url:
        engine = create_engine(url)
        started = time.perf_counter()
        fill(engine, args.rows, args.users, args.gin)
        print(f"{args.rows} changes and records in {time.perf_counter() - started:.0f} s")
        pulls = {
            "first pull (records_after)": lambda tx: tx.records_after(None, tags, (), 101),
            "log from 0 (changes_after)": lambda tx: tx.changes_after(
                0, args.rows, tags, (), "phone-1", 101
            ),
            "nothing new (changes_after)": lambda tx: tx.changes_after(
                args.rows, args.rows, tags, (), "phone-1", 101
            ),
        }
        for name, call in pulls.items():
            sql, params = captured(engine, call)
            lines, ms = explain(engine, sql, params)
            print(f"\n== {name}{', GIN indexes built' if args.gin else ''}: {ms:.2f} ms")
            print("\n".join("   " + ln for ln in lines))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
