"""What the SQLite text-search index costs per case written: the triggers that wrote the FTS5
index inside every statement (migration ``b7e41c9d2a6f``) against the queue that replaced
them (``b40bfa3ba115``) and its flush (``server.models.search``).

``python -m bench searchqueue [--reports 2000] [--rounds 3] [--intake 1000]``

The rows are the ``cases`` rows of N reports pushed in-process (captured as ``bench
pushfloor`` captures them: the statement and the parameters the driver received), written
with bare ``sqlite3`` into a fresh database holding the demo city, in three ways a round,
alternated:

- **sync**: the old triggers (one FTS5 segment per statement);
- **queue**: the queue's triggers and no flush (the floor: what a request pays now);
- **queue+flush**: the queue's triggers and, every ``BUSY_FLUSH_ROWS`` rows, a flush by a
  second connection, as the server's maintenance thread does when busy; its time counted
  here although the server spends it beside the requests, on its own thread.

each (1) one row per transaction, as the REST intake commits a report, and (2) all rows in
one ``executemany`` and one commit, as the sync push's bulk path writes them (queue+flush:
then one flush of them all); and (3) ``--intake`` reports through ``POST /api/cases`` in
process (test client), with the old triggers and with the queue (the server's maintenance
thread flushing it, as configured by default). The figures are CPU time of the bench's
process per row (all the work is in it, the flush included; wall time on a shared machine
mostly measures the others).
"""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from server.db import sqlite_pragmas
from server.models.search import BUSY_FLUSH_ROWS, flush_sqlite

from . import intake, push_floor
from .common import machine, scratch_db, table

MIGRATION = (
    Path(__file__).resolve().parent.parent
    / "server/migrations/versions/20261121_b40bfa3ba115_search_index_deferred_through_a_queue.py"
)
MODES = ("sync", "queue", "queue+flush")


def _migration() -> Any:
    spec = importlib.util.spec_from_file_location("queue_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(n: int, seed: int) -> tuple[str, list[Any]]:
    """The ``INSERT INTO cases`` statement of an in-process push of ``n`` reports, its rows."""
    with scratch_db("sqlite", "cgt_bench_sq_capture") as url:
        intake.setup_database(url)
        _, statements = push_floor._push_in_process(url, n, seed)
    sql, rows = next(x for x in statements if x[0].startswith("INSERT INTO cases"))
    return sql, rows[:n]


def _connect(path: str, mode: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)  # legacy transactions, as the app's driver
    sqlite_pragmas(conn, autocheckpoint=10_000)
    if mode == "sync":  # back to migration b7e41c9d2a6f's triggers (the queue stays empty)
        migration = _migration()
        for name in migration.TRIGGERS:
            conn.execute(f"DROP TRIGGER {name}")
        for sql in migration.SYNCHRONOUS:
            conn.execute(sql)
        conn.commit()
    return conn


def _fresh(
    mode: str, write: Callable[[sqlite3.Connection, sqlite3.Connection], None], n_rows: int
) -> float:
    """CPU µs per row (this process's: the machine is shared) of ``write`` on a fresh database."""
    with scratch_db("sqlite", "cgt_bench_sq") as url:
        intake.setup_database(url)
        path = str(make_url(url).database)
        conn = _connect(path, mode)
        flusher = sqlite3.connect(path, timeout=30, isolation_level=None)
        sqlite_pragmas(flusher, autocheckpoint=10_000)  # no checkpoint in either's commit
        try:
            t0 = time.process_time()
            write(conn, flusher)
            return (time.process_time() - t0) / n_rows * 1e6
        finally:
            conn.close()
            flusher.close()


def per_transaction(mode: str, sql: str, rows: list[Any]) -> float:
    """CPU µs per row, each row in a transaction of its own."""

    def write(conn: sqlite3.Connection, flusher: sqlite3.Connection) -> None:
        for i, row in enumerate(rows, 1):
            conn.execute(sql, row)
            conn.commit()
            if mode == "queue+flush" and i % BUSY_FLUSH_ROWS == 0:
                flush_sqlite(flusher)
        if mode == "queue+flush":
            flush_sqlite(flusher)  # what is left

    return _fresh(mode, write, len(rows))


def bulk(mode: str, sql: str, rows: list[Any]) -> float:
    """CPU µs per row, all rows in one ``executemany`` and one commit (and one flush)."""

    def write(conn: sqlite3.Connection, flusher: sqlite3.Connection) -> None:
        conn.executemany(sql, rows)
        conn.commit()
        if mode == "queue+flush":
            flush_sqlite(flusher)

    return _fresh(mode, write, len(rows))


def intake_in_process(mode: str, n: int, seed: int) -> tuple[float, float]:
    """CPU and wall µs per ``POST /api/cases`` through the test client (``sync`` or
    ``queue``), the server's maintenance thread on as configured by default (its CPU, the
    flush included, is the process's)."""
    with scratch_db("sqlite", "cgt_bench_sq_intake") as url:
        intake.setup_database(url)
        _connect(str(make_url(url).database), mode).close()
        client, auth = intake.signed_in_client(url, intake.PROFILE_PHONE)
        app = client.application
        bodies = intake.report_bodies(n + 100, seed)
        for body in bodies[:100]:  # warm up
            client.post("/api/cases", data=body, headers=auth)
        cpu, wall = time.process_time(), time.perf_counter()
        for body in bodies[100:]:
            resp = client.post("/api/cases", data=body, headers=auth)
            assert resp.status_code == 201, resp.json
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        from server import shutdown

        shutdown(app)
        return cpu / n * 1e6, wall / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench searchqueue", description=__doc__)
    p.add_argument("--reports", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--intake", type=int, default=1000, help="reports through POST /api/cases")
    args = p.parse_args(argv)
    sql, rows = _rows(args.reports, args.seed)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"search index per case written — {now} — {machine()}", flush=True)
    results: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for mode in MODES:
            results.setdefault(("one per transaction", mode), []).append(
                per_transaction(mode, sql, rows)
            )
            results.setdefault(("one executemany", mode), []).append(bulk(mode, sql, rows))
        for mode in ("sync", "queue"):
            cpu, wall = intake_in_process(mode, args.intake, args.seed + r)
            results.setdefault(("intake in process", mode), []).append(cpu)
            results.setdefault(("intake in process, wall", mode), []).append(wall)
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{w} {m} {v[-1]:.0f} µs" for (w, m), v in results.items()),
            flush=True,
        )
    rows_out = []
    for way in ("one per transaction", "one executemany"):
        med = {m: statistics.median(results[(way, m)]) for m in MODES}
        rows_out.append([way, *(round(med[m]) for m in MODES), med["queue+flush"] / med["sync"]])
    print()
    headers = ["writes", *(f"{m} (CPU µs/row)" for m in MODES), "queue+flush / sync"]
    print(table(headers, rows_out))
    rows_out = []
    for way in ("intake in process", "intake in process, wall"):
        med = {m: statistics.median(results[(way, m)]) for m in ("sync", "queue")}
        rows_out.append([way, round(med["sync"]), round(med["queue"]), med["queue"] / med["sync"]])
    print()
    headers = ["POST /api/cases", "sync (µs/report)", "queue (µs/report)", "queue / sync"]
    print(table(headers, rows_out))
    return 0
