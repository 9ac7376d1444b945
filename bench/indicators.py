"""A month's indicators at 100k and 1M cases on SQLite and PostgreSQL — target: the whole city's
indicators for a month in ≤ 2 s at 1M cases.

For every size a fresh database: the cases of ``bench.gen`` (three years of history) and their
audit trails from ``bench.gen_events`` (~7.6 events a case). Then, in-process through
``server.services.indicators.compute`` (the three aggregate queries and naming the rows):
the whole city for the last full month (the target) and for the running month (which also
counts the open, overdue steps), the department, grid and inspector breakdowns of the last
month, the assessment draft of that month (``server.services.assessment.compute``), and the
city figures through HTTP (``GET /api/indicators``: sign-in lookup, parsing, serialising).
Medians of ``--repeats`` runs after one warm-up; the growth column is the ratio between the
largest and the smallest size, measured in the same run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import event, func, select

from server import shutdown
from server.clock import FixedClock
from server.db import database
from server.domain.indicators import Dimension, Period
from server.models import CaseEvent
from server.services import assessment
from server.services import indicators as svc
from server.services.demo import DEMO_PASSWORD

from . import gen, gen_events
from .common import bench_app, engines_and_sizes, machine, scratch_db, table, time_ms

TARGET_MS = 2000.0
TZ = ZoneInfo("Asia/Shanghai")


def months(now: datetime) -> tuple[Period, Period]:
    """The last full local month and the running one."""
    today = now.astimezone(TZ).date()
    running = Period.month(today.year, today.month)
    last = running.start.replace(day=1)
    year, month = (last.year, last.month - 1) if last.month > 1 else (last.year - 1, 12)
    return Period.month(year, month), running


class Bench:
    def __init__(self, app: Flask, now: datetime) -> None:
        self.app, self.now = app, now
        self.last, self.running = months(now)
        client = app.test_client()
        resp = client.post(
            "/api/auth/login",
            json={"username": "dispatcher1", "password": DEMO_PASSWORD, "device_id": "bench"},
        )
        assert resp.status_code == 200, resp.json
        self.client = client
        self.headers = {"Authorization": f"Bearer {resp.json['access_token']}"}

    def compute(self, period: Period, dimension: Dimension) -> Callable[[], Any]:
        def run() -> Any:
            with database(self.app).session() as s:
                return svc.compute(s, period, dimension, self.now, TZ)

        return run

    def bulletin(self) -> Any:
        with database(self.app).session() as s:
            return assessment.compute(s, self.last.label, self.last, self.now, TZ)

    def http(self) -> Any:
        resp = self.client.get(f"/api/indicators?month={self.last.label}", headers=self.headers)
        assert resp.status_code == 200, resp.json
        return resp.json

    def views(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("city, last month (target)", self.compute(self.last, Dimension.CITY)),
            ("city, running month", self.compute(self.running, Dimension.CITY)),
            ("per department, last month", self.compute(self.last, Dimension.DEPARTMENT)),
            ("per grid cell, last month", self.compute(self.last, Dimension.GRID)),
            ("per inspector, last month", self.compute(self.last, Dimension.INSPECTOR)),
            ("assessment draft, last month", self.bulletin),
            ("HTTP city, last month", self.http),
        ]

    def events_in(self, period: Period) -> int:
        start, end = period.bounds(TZ)
        with database(self.app).session() as s:
            n = s.scalar(select(func.count()).where(CaseEvent.at >= start, CaseEvent.at < end))
        return int(n or 0)

    def plans(self) -> str:
        """The database's plan of every query behind the city's last month."""
        engine = database(self.app).engine
        seen: list[tuple[str, Any]] = []

        def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "GROUP BY" in statement:
                seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", grab)
        try:
            self.compute(self.last, Dimension.CITY)()
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        sqlite = engine.dialect.name == "sqlite"
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        out = []
        with engine.connect() as conn:
            for statement, params in seen:
                rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
                out.append("\n      ".join(str(r[-1]) for r in rows))
        return "\n    ---\n      ".join(out)


def run_size(engine: str, n: int, repeats: int, explain: bool, keep: bool) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    with scratch_db(engine, f"cgt_bench_indicators_{n}", keep=keep) as url:
        g = gen.generate(url, n, now)
        t0 = datetime.now(UTC)
        counts = gen_events.generate_events(url, n, now)
        seconds = (datetime.now(UTC) - t0).total_seconds()
        print(f"  generated {n:,} cases in {g.seconds:.0f} s and {sum(counts.values()):,} "
              f"events in {seconds:.0f} s on {engine}", flush=True)  # fmt: skip
        app = bench_app(url, clock=FixedClock(now))
        try:
            b = Bench(app, now)
            events = {p.label: b.events_in(p) for p in (b.last, b.running)}
            result: dict[str, Any] = {"events": events}
            print("  events in " + ", ".join(f"{m}: {c:,}" for m, c in events.items()))
            for name, fn in b.views():
                ms = time_ms(fn, repeats, warmup=1)
                result[name] = ms
                print(f"  {name:<30} {ms:8.1f} ms", flush=True)
            if explain or result["city, last month (target)"] > TARGET_MS:
                print("    plans:\n      " + b.plans(), flush=True)
            return result
        finally:
            shutdown(app)


def report(engine: str, sizes: list[int], results: dict[int, dict[str, Any]]) -> str:
    names = [k for k in results[sizes[0]] if k != "events"]
    label = {n: f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M" for n in sizes}
    headers = ["computation"] + [f"{label[n]} ms" for n in sizes]
    small, large = sizes[0], sizes[-1]
    if large != small:
        headers.append(f"{label[large]} / {label[small]}")
    rows = []
    for name in names:
        row: list[Any] = [name] + [results[n][name] for n in sizes]
        if large != small:
            row.append(f"{results[large][name] / results[small][name]:.1f}×")
        rows.append(row)
    events = "; ".join(
        f"{label[n]}: " + ", ".join(f"{m} {c:,}" for m, c in results[n]["events"].items())
        for n in sizes
    )
    worst = results[large]["city, last month (target)"]
    verdict = "MET" if worst <= TARGET_MS else "MISSED"
    return (
        f"### {engine} (ms, median)\n\n{table(headers, rows)}\n\nevents per month — {events}\n\n"
        f"city, last month at {label[large]}: {worst:.0f} ms (target ≤ {TARGET_MS:.0f} ms): "
        f"**{verdict}**\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench indicators", description=__doc__)
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--explain", action="store_true", help="print the query plans")
    p.add_argument("--keep", action="store_true", help="keep the generated databases")
    args = p.parse_args(argv)
    engines, sizes = engines_and_sizes(args)
    print(f"indicators bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    out = []
    for engine in engines:
        results = {}
        for n in sizes:
            print(f"[{engine} {n:,} cases]", flush=True)
            results[n] = run_size(engine, n, args.repeats, args.explain, args.keep)
        out.append(report(engine, sizes, results))
    print("\n" + "\n".join(out))
    return 0
