"""How fast a push of offline reports could be: the server in-process, and the database floor.

``python -m bench pushfloor --engine both --push 2000``

1. **in-process**: N ``report_case.v1`` mutations pushed through the Flask test client in
   batches of ``MAX_PUSH`` (no HTTP, no device, no profiler): the server's own cost.
2. **floor**: every row those pushes wrote — captured as the exact statements and parameters
   the driver received (``INSERT`` only; JSON already encoded, datetimes converted) — replayed
   into a fresh database with the demo city as one DBAPI ``executemany`` per statement in one
   transaction: no Python per row at all beyond the driver's. No server can write the same rows
   faster through this driver; the gap between 1 and 2 is Python (Flask, validation, the
   use case, publishing), the gap to the bench's over-HTTP figure is HTTP and the device.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from . import intake
from .common import machine, scratch_db, table
from .sync import in_process_pushes

TARGET = 15_000.0


def _push_in_process(url: str, n: int, seed: int) -> tuple[float, list[tuple[str, list[Any]]]]:
    """Seconds for ``n`` reports pushed in-process, and the INSERTs they ran (in order)."""
    from server.db import database

    client, auth, batches = in_process_pushes(url, n, seed)
    app = client.application
    captured: dict[str, list[Any]] = {}

    def capture(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            rows = captured.setdefault(statement, [])
            rows.extend(params if many else [params])

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", capture)
    t0 = time.perf_counter()
    for body in batches:
        resp = client.post("/api/sync/push", json=body, headers=auth)
        assert resp.status_code == 200, resp.json
        assert {x["status"] for x in resp.json["results"]} == {"applied"}, resp.json
    elapsed = time.perf_counter() - t0
    event.remove(engine, "before_cursor_execute", capture)
    engine.dispose()
    return elapsed, list(captured.items())


def _replay(url: str, statements: list[tuple[str, list[Any]]]) -> float:
    """Seconds to write the captured rows with bare DBAPI ``executemany`` and one commit."""
    from server.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        for statement, rows in statements:
            cur.executemany(statement, rows)
        raw.commit()
        elapsed = time.perf_counter() - t0
        cur.close()
    finally:
        raw.close()
        engine.dispose()
    return elapsed


def run_engine(engine: str, n: int, seed: int) -> dict[str, Any]:
    with scratch_db(engine, "cgt_bench_floor_a") as url:
        intake.setup_database(url)
        seconds, statements = _push_in_process(url, n, seed)
    with scratch_db(engine, "cgt_bench_floor_b") as url:
        intake.setup_database(url)
        floor = _replay(url, statements)
    rows = sum(len(r) for _, r in statements)
    print(
        f"  {engine}: in-process {n / seconds:.0f} mutations/s ({seconds / n * 1e3:.2f} ms "
        f"each); the same {rows:,} rows ({rows / n:.1f} per report, {len(statements)} "
        f"statements) by bare executemany: {n / floor:,.0f} reports/s",
        flush=True,
    )
    return {"engine": engine, "in_process": n / seconds, "floor": n / floor, "rows": rows / n}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench pushfloor", description=__doc__)
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--push", type=int, default=2000, help="reports pushed")
    p.add_argument("--seed", type=int, default=20261121)
    args = p.parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    print(f"push floor — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}", flush=True)
    results = [run_engine(e, args.push, args.seed) for e in engines]
    rows = [
        [r["engine"], f"{r['in_process']:,.0f}", f"{r['floor']:,.0f}", f"{r['rows']:.1f}",
         f"{TARGET:,.0f}"]
        for r in results
    ]  # fmt: skip
    print("\n" + table(["engine", "server in-process (reports/s)",
                        "bare executemany of its rows (reports/s)", "rows per report",
                        "target over HTTP"], rows))  # fmt: skip
    return 0
