"""What GIN indexes on the sync audience arrays cost the writes: twin tables, alternating.

    python -m bench.gin_upkeep [--rows 4000] [--rounds 20]

PostgreSQL only. Makes the sync tables from the models, then a twin of ``sync_changes`` and of
``sync_records`` (``LIKE … INCLUDING ALL``) carrying the three GIN indexes that migration
``a3d5c7e9f1b2`` dropped (``bench.audience_index.GIN``). Each round inserts ``rows`` change rows
(half staff copies with three tags, half a reporter's with one, as a push writes them) and
their records into one pair and then the other, in one transaction each, alternating which goes
first; the tables grow as a live log does. Prints the median time per round of each pair and
the ratio: both pairs run in the same seconds, so the machine's load falls on both alike; then
what the run built and wrote, from the catalogue: each table's rows and GIN indexes (the twins
three, the plain pair none), so a run that measured something else shows it.
Results are in docs/PERFORMANCE.md ("Push on PostgreSQL without the audience GIN indexes").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from server.models.sync import SyncChange, SyncRecord

from .audience_index import GIN
from .common import scratch_db

CHANGES = """
INSERT INTO {changes} (cursor, collection, id, op, version, data, audience, prev_audience,
                       origin, at)
SELECT :base + g, CASE WHEN g % 2 = 0 THEN 'cases' ELSE 'my_reports' END, 'rec-' || (:base + g),
       'upsert', 1, '{{"state": "reported", "description": "路边一堆垃圾没人清"}}'::json,
       CASE WHEN g % 2 = 0
            THEN ARRAY['role:dispatcher', 'grid:' || (g % 500), 'dept:' || (g % 40)]
            ELSE ARRAY['user:' || (g % 100000)] END::varchar(64)[],
       '{{}}'::varchar(64)[], 'phone-1', now()
FROM generate_series(1, :rows) AS g
"""
RECORDS = """
INSERT INTO {records} (collection, id, version, data, audience, deleted)
SELECT collection, id, version, data, audience, false FROM {changes} WHERE cursor > :base
"""


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gin_upkeep", description=__doc__)
    p.add_argument("--rows", type=int, default=4000, help="change rows and records per round")
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args(argv)
    pairs = {
        "without": ("sync_changes", "sync_records"),
        "with GIN": ("gin_changes", "gin_records"),
    }
    with scratch_db("postgresql", "cgt_bench_gin_upkeep") as url:
        engine = create_engine(url)
        tables = [SyncChange.__table__, SyncRecord.__table__]
        SyncChange.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE gin_changes (LIKE sync_changes INCLUDING ALL)"))
            conn.execute(text("CREATE TABLE gin_records (LIKE sync_records INCLUDING ALL)"))
            for statement in GIN:
                twin = statement.replace("ON sync_", "ON gin_").replace(" ix_sync_", " ix_gin_")
                conn.execute(text(twin))
        times: dict[str, list[float]] = {name: [] for name in pairs}
        for r in range(args.rounds):
            for name in sorted(pairs, reverse=r % 2 == 1):
                changes, records = pairs[name]
                params = {"base": r * args.rows, "rows": args.rows}
                with engine.begin() as conn:
                    t0 = time.perf_counter()
                    conn.execute(text(CHANGES.format(changes=changes)), params)
                    conn.execute(text(RECORDS.format(records=records, changes=changes)), params)
                times[name].append((time.perf_counter() - t0) * 1e3)
        with engine.connect() as conn:
            size = conn.scalar(
                text(
                    "SELECT sum(pg_relation_size(c.oid)) FROM pg_class c "
                    "WHERE c.relname LIKE 'ix_gin_%'"
                )  # fmt: skip
            )
            built = {
                table: (
                    conn.scalar(text(f"SELECT count(*) FROM {table}")),
                    gin_indexes(conn, table),
                )
                for pair in pairs.values()
                for table in pair
            }
        engine.dispose()
    with_gin, without = (statistics.median(times[n]) for n in ("with GIN", "without"))
    print(f"{args.rows:,} change rows and {args.rows:,} records per round, {args.rounds} rounds "
          f"(tables grow to {args.rows * args.rounds:,} rows each)")  # fmt: skip
    for name, values in times.items():
        shown = [round(v, 2) for v in values]
        print(f"  {name}: median {statistics.median(values):.2f} ms  {shown}")
    extra = (with_gin - without) / args.rows * 1e3
    print(
        f"with GIN / without: {with_gin / without:.2f}x; the GIN upkeep {extra:.1f} µs per "
        f"change row and record; the GIN indexes {float(size or 0) / 1e6:.1f} MB"
    )
    print("at the end (rows, GIN indexes):")
    for table, (rows, gin) in built.items():
        print(f"  {table}: {rows:,} rows, {len(gin)} GIN {sorted(gin)}")
    return 0


def gin_indexes(conn: Connection, table: str) -> list[str]:
    """The names of ``table``'s GIN indexes, from the catalogue."""
    return list(
        conn.scalars(
            text(
                "SELECT ix.relname FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid "
                "JOIN pg_am am ON am.oid = ix.relam WHERE i.indrelid = CAST(:t AS regclass) "
                "AND am.amname = 'gin'"
            ),
            {"t": table},
        )
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
