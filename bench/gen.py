"""Bulk generation of a synthetic case history for the queue benchmarks (seeded, reproducible).

The schema comes from ``server.models.Base.metadata`` and the city from the demo city, so
every id a case points at (category, grid cell, department, reporter, inspector) exists.
Rows go in with the ``cases`` indexes dropped — SQLite through one Core ``executemany`` per
chunk, PostgreSQL through ``COPY`` (psycopg 3) — and the model's own indexes are rebuilt
afterwards, followed by ``ANALYZE`` (and ``VACUUM`` on PostgreSQL); on SQLite the text-search
queue the inserts filled is then flushed into the index (``server.models.search.flush``).

The mix: ~93% finished (closed, some rejected or merged; no running step, so
``step_deadline`` is NULL), the rest open across every open state with deadlines a few days
either side of ``now`` so that red, yellow and green all exist.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, Table, select, text

from server.db import make_engine
from server.models import Base, Case, Department, GridCell, User, search
from server.services.demo import load_demo_city
from shared_models.catalogue import default_catalogue
from shared_models.enums import CaseState, Role

SEED = 20261116
CHUNK = 20_000
CLOSED_SHARE = 0.93
# Open states and their share of open work (handling dominates, as in a real queue).
OPEN_MIX = {
    CaseState.REPORTED: 15,
    CaseState.VERIFYING: 5,
    CaseState.REGISTERED: 5,
    CaseState.RETURNED: 3,
    CaseState.DISPATCHED: 15,
    CaseState.HANDLING: 32,
    CaseState.REWORK: 5,
    CaseState.HANDLED: 10,
    CaseState.CHECKING: 10,
}
STEP = {
    CaseState.REPORTED: "register",
    CaseState.VERIFYING: "verify",
    CaseState.REGISTERED: "dispatch",
    CaseState.RETURNED: "dispatch",
    CaseState.DISPATCHED: "handle",
    CaseState.HANDLING: "handle",
    CaseState.REWORK: "handle",
    CaseState.HANDLED: "check",
    CaseState.CHECKING: "check",
}
WITH_DEPARTMENT = {
    CaseState.DISPATCHED,
    CaseState.HANDLING,
    CaseState.REWORK,
    CaseState.HANDLED,
    CaseState.CHECKING,
}
SOURCES = (("citizen", 55), ("inspector", 30), ("hotline", 10), ("frontage", 3), ("toilet", 2))
STREETS = ("光明路", "建设路", "中兴路", "开源路", "凌云路", "矿工路", "湛河北路", "新华路")
PROBLEMS = (
    "路边一堆垃圾没人清，已经好几天了，气味很大",
    "井盖松动，车辆经过响声很大，晚上有安全隐患",
    "店铺占道经营，人行道被货物堵住，行人只能走机动车道",
    "路灯不亮，整条街晚上一片漆黑",
    "小广告贴满了电线杆和墙面",
    "绿化带里的树倒了，压在人行道上",
)
COLUMNS = [c.name for c in Case.__table__.columns]


@dataclass
class City:
    """What generated cases refer to, read back from the loaded demo city."""

    cells: list[tuple[str, str, float, float, float, float, int | None]]  # code, district, bbox
    categories: list[tuple[str, int | None]]  # code, default department id
    departments: list[int]
    citizens: list[int]
    handlers: dict[int, tuple[int, str]] = field(default_factory=dict)  # dept id → (user, code)


@dataclass
class Generated:
    url: str
    n: int
    now: datetime
    seconds: float
    lights: Counter[str]
    states: Counter[str]


def prepare(url: str) -> tuple[Engine, City]:
    """Create the schema from the models and load the demo city (cheap argon2: no logins)."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        load_demo_city(s, PasswordHasher(time_cost=1, memory_cost=1024), datetime.now(UTC))
        s.commit()
        return engine, read_city(s)


def read_city(s: Any) -> City:
    depts = {d.code: d.id for d in s.scalars(select(Department))}
    cells = [
        (c.code, c.district_code, c.min_lat, c.min_lon, c.max_lat, c.max_lon, c.inspector_id)
        for c in s.scalars(select(GridCell).order_by(GridCell.code))
    ]
    cats = [(c.code, depts.get(c.department or "")) for c in default_catalogue()]
    citizens = [u.id for u in s.scalars(select(User).where(User.role == Role.CITIZEN.value))]
    handlers = {
        u.department_id: (u.id, u.username)
        for u in s.scalars(select(User).where(User.role == Role.HANDLER.value))
    }
    return City(cells, cats, sorted(depts.values()), citizens, handlers)


def _weighted(rnd: random.Random, mix: Any) -> Any:
    items = list(mix.items()) if isinstance(mix, dict) else list(mix)
    return rnd.choices([k for k, _ in items], [w for _, w in items])[0]


def rows(
    n: int, now: datetime, city: City, counts: Counter[str], seed: int = SEED
) -> Iterator[tuple[Any, ...]]:
    """``n`` case rows in ``COLUMNS`` order, naive UTC datetimes; ``counts`` gets the mix."""
    rnd = random.Random(seed)
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    open_states = list(OPEN_MIX)
    open_weights = list(OPEN_MIX.values())
    sources = [s for s, _ in SOURCES]
    source_weights = [w for _, w in SOURCES]
    history = timedelta(days=3 * 365)
    last_id = None
    for _ in range(n):
        cid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        code, district, la0, lo0, la1, lo1, inspector = city.cells[rnd.randrange(len(city.cells))]
        cat, cat_dept = city.categories[rnd.randrange(len(city.categories))]
        source = rnd.choices(sources, source_weights)[0]
        reporter = rnd.choice(city.citizens) if source == "citizen" else None
        lat, lon = rnd.uniform(la0, la1), rnd.uniform(lo0, lo1)
        step = started = warn = deadline = closed = merged = reject = None
        dept = verified = rating = None
        inspector_id = None
        if rnd.random() < CLOSED_SHARE:
            created = naive_now - history * rnd.random()
            updated = closed = created + timedelta(hours=rnd.uniform(2, 120))
            r = rnd.random()
            if r < 0.945:
                state, dept = "closed", cat_dept or rnd.choice(city.departments)
                rating = rnd.choice((None, 3, 4, 5, 5))
            elif r < 0.99:
                state, reject = "rejected", "不属于城管受理范围"
            else:
                state, merged = "merged", last_id
            light = "none"
        else:
            st = rnd.choices(open_states, open_weights)[0]
            state, step = st.value, STEP[st]
            hours = rnd.choice((4.0, 8.0, 24.0, 48.0, 72.0))
            r = rnd.random()
            if r < 0.30:  # overdue, up to five days late
                deadline, light = naive_now - timedelta(hours=rnd.uniform(0.01, 120)), "red"
            elif r < 0.45:  # inside the last fifth of the step's time
                ahead = rnd.uniform(0.001, 0.199) * hours
                deadline, light = naive_now + timedelta(hours=ahead), "yellow"
            else:
                ahead = rnd.uniform(0.201, 1.0) * hours
                deadline, light = naive_now + timedelta(hours=ahead), "green"
            started = deadline - timedelta(hours=hours)
            warn = started + timedelta(hours=0.8 * hours)
            created = started - timedelta(hours=rnd.uniform(0, 240))
            updated = started
            if st in WITH_DEPARTMENT:
                dept = cat_dept or rnd.choice(city.departments)
            if st in (CaseState.VERIFYING, CaseState.CHECKING):
                inspector_id = inspector
        counts[state] += 1
        counts[f"light:{light}"] += 1
        yield (
            cid, 1, state, source, cat, lat, lon, "wgs84",
            f"{rnd.choice(STREETS)}{rnd.randint(1, 300)}号", code, district,
            rnd.choice(PROBLEMS), reporter, dept, inspector_id, step, started, warn, deadline,
            created, updated, closed, True if source == "inspector" else verified, reject,
            merged, rating, None, closed if rating else None, 0, 0, 0,
        )  # fmt: skip
        last_id = cid


_EXPECTED = [
    "id", "version", "state", "source", "category_code", "lat", "lon", "coord_system",
    "address", "grid_code", "district_code", "description", "reporter_id", "department_id",
    "inspector_id", "step", "step_started_at", "step_warn_at", "step_deadline", "created_at",
    "updated_at", "closed_at", "verified", "reject_reason", "merged_into_id", "rating",
    "rating_comment", "rated_at", "rework_count", "reopen_count", "return_count",
]  # fmt: skip
assert COLUMNS == _EXPECTED, f"Case columns changed; update bench.gen.rows: {COLUMNS}"


def _sqlite_value(v: Any) -> Any:
    # SQLAlchemy's SQLite DATETIME storage format, so range filters compare as the app's do.
    return v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v


def bulk_load(
    engine: Engine, table: Table, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """Load ``rows`` into ``table`` fast: its indexes dropped, executemany (SQLite) or COPY
    (PostgreSQL), the model's indexes rebuilt, then ANALYZE (VACUUM ANALYZE on PostgreSQL)."""
    with engine.begin() as conn:
        for idx in table.indexes:
            conn.execute(text(f"DROP INDEX IF EXISTS {idx.name}"))
    if engine.dialect.name == "sqlite":
        _load_sqlite(engine, table.name, columns, _batches(rows))
    else:
        _load_postgresql(engine, table.name, columns, _batches(rows))
    with engine.begin() as conn:
        for idx in table.indexes:
            idx.create(conn)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def _load_sqlite(
    engine: Engine, table: str, columns: list[str], batches: Iterator[list[tuple[Any, ...]]]
) -> None:
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # ids come from the loaded city
        for batch in batches:
            conn.exec_driver_sql(sql, [tuple(_sqlite_value(v) for v in r) for r in batch])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _load_postgresql(
    engine: Engine, table: str, columns: list[str], batches: Iterator[list[tuple[Any, ...]]]
) -> None:
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for batch in batches:
                    for r in batch:
                        copy.write_row(r)
        pg.commit()
    finally:
        raw.close()


def _batches(it: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for r in it:
        batch.append(r)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(url: str, n: int, now: datetime) -> Generated:
    """A fresh database at ``url`` holding the demo city and ``n`` generated cases."""
    t0 = time.perf_counter()
    engine, city = prepare(url)
    counts: Counter[str] = Counter()
    bulk_load(engine, Case.__table__, COLUMNS, rows(n, now, city, counts))
    search.flush(engine)  # the open cases' text-search index, as a server's thread would
    engine.dispose()
    lights = Counter({k[6:]: v for k, v in counts.items() if k.startswith("light:")})
    states = Counter({k: v for k, v in counts.items() if not k.startswith("light:")})
    return Generated(url, n, now, time.perf_counter() - t0, lights, states)
