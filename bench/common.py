"""What every benchmark shares: scratch databases, the bench app, timing and result tables."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

# The admin database of a PostgreSQL server where the cgt role may CREATE DATABASE.
PG_ADMIN_URL = os.environ.get(
    "CGT_BENCH_PG_URL", "postgresql+psycopg://cgt:cgt@127.0.0.1:5432/postgres"
)
SCRATCH = Path(os.environ.get("CGT_BENCH_DIR", "/tmp"))
CHEAP_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}


def drop_database(admin: Engine, name: str, attempts: int = 10) -> None:
    """Drop a scratch database, ending this role's sessions in it first.

    Not ``WITH (FORCE)``: that needs the right to end every session in the database, and
    the cgt role may not end another role's (a superuser's, an autovacuum worker's). A
    plain DROP stops autovacuum by itself; a session still closing is waited for. A database
    that still cannot be dropped is reported, not raised: teardown must not fail a run, nor
    hide the run's own failure.
    """
    own = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
    )
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(own, {"name": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except OperationalError as error:  # in use: a session is still closing
            if attempt == attempts - 1:
                print(f"scratch database {name} left behind: {error}", file=sys.stderr)
                return
            time.sleep(0.5)


@contextmanager
def scratch_db(engine: str, name: str, keep: bool = False) -> Iterator[str]:
    """A fresh empty database (SQLite file under ``SCRATCH`` or a PostgreSQL database), named
    for this process: two runs of one bench at once must not remove each other's database."""
    if engine == "sqlite":
        path = SCRATCH / f"{name}_{os.getpid()}.sqlite3"
        _remove_sqlite(path)
        try:
            yield f"sqlite:///{path}"
        finally:
            if not keep:
                _remove_sqlite(path)
        return
    dbname = f"{name}_{os.getpid()}"
    admin = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        drop_database(admin, dbname)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        yield make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)
    finally:
        if not keep:
            drop_database(admin, dbname)
        admin.dispose()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def bench_app(
    url: str,
    clock: Callable[[], datetime] | None = None,
    served: bool = False,
    **extra: Any,
) -> Flask:
    """The real app on ``url``; only argon2 is made cheap so signing in does not dominate.
    ``served``: built as a server process builds it (``server.production.production_app``,
    which ``server.wsgi`` uses: startup objects frozen out of the garbage collector's scans)."""
    import logging

    from server import create_app
    from server.production import production_app

    cfg: dict[str, Any] = {"DATABASE_URL": url, "SECRET_KEY": "bench", **CHEAP_ARGON2, **extra}
    if clock is not None:
        cfg["CLOCK"] = clock
    app = (production_app if served else create_app)(cfg)
    logging.getLogger().setLevel(logging.WARNING)  # create_app sets INFO; keep output readable
    return app


def time_ms(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    return time_stats(fn, repeats, warmup)[0]


def time_stats(fn: Callable[[], Any], repeats: int, warmup: int = 2) -> tuple[float, float, float]:
    """Median wall time, fastest wall time and median CPU time of ``fn``, in milliseconds.

    On a shared machine the wall times carry the other processes' load; the CPU time of this
    process does not (but leaves out work done in another process, such as PostgreSQL's).
    """
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table, ready to paste into docs/PERFORMANCE.md."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in r] for r in rows]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "|".join(" --- " for _ in headers) + "|")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"
    return str(v)


def size_args(p: argparse.ArgumentParser, deep: int) -> None:
    """The options every generated-data benchmark takes: engines, sizes, depth, repeats."""
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--deep", type=int, default=deep, help="page number of the deep page")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--keep", action="store_true", help="keep the generated databases")


def engines_and_sizes(args: argparse.Namespace) -> tuple[list[str], list[int]]:
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    return engines, sorted(int(x) for x in args.sizes.split(","))
