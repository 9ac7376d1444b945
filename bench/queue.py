"""Queue views and the overdue list at 100k and 1M cases: a page must stay cheap as cases grow.

For every size a fresh database is generated (``bench.gen``), then each view's first page and
a deep page (reached by following ``next`` cursors) are timed twice: in-process through
``server.services.queue.queue`` (the query and ORM loading), and through the Flask test
client (adds sign-in lookup, argument parsing and serialisation); the last page is timed
in-process too, since a filtered scan costs most there. Larger sizes time the same page
numbers as the smallest. Targets: a page in ≤ 20 ms,
and the largest size within 1.5× of the smallest. Views that miss get their query plan printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from server import shutdown
from server.api.pagination import encode_cursor
from server.clock import FixedClock
from server.db import database
from server.services.actor import Actor
from server.services.demo import DEMO_PASSWORD
from server.services.queue import QueueFilter, queue
from shared_models.enums import Light, Role

from . import gen
from .common import (
    bench_app,
    engines_and_sizes,
    machine,
    scratch_db,
    size_args,
    table,
    time_ms,
)

PAGE_TARGET_MS = 20.0
GROWTH_TARGET = 1.5
LIMIT = 50
HANDLER_DEPARTMENT = "SANITATION"
GRID = "410402001001001"
CATEGORY = "SJ0101"


@dataclass(frozen=True)
class View:
    name: str
    who: str  # "dispatcher" or "handler"
    filter: Callable[[], QueueFilter]
    path: str


VIEWS = [
    View("open queue", "dispatcher", QueueFilter, "/api/queue"),
    View("overdue (red)", "dispatcher", lambda: QueueFilter(light=Light.RED), "/api/queue/overdue"),
    View(
        "yellow", "dispatcher", lambda: QueueFilter(light=Light.YELLOW), "/api/queue?light=yellow"
    ),
    View(
        "department",
        "dispatcher",
        lambda: QueueFilter(department=HANDLER_DEPARTMENT),
        f"/api/queue?department={HANDLER_DEPARTMENT}",
    ),
    View("grid", "dispatcher", lambda: QueueFilter(grid=GRID), f"/api/queue?grid={GRID}"),
    View(
        "category",
        "dispatcher",
        lambda: QueueFilter(category=CATEGORY),
        f"/api/queue?category={CATEGORY}",
    ),
    View(
        "state=reported",
        "dispatcher",
        lambda: QueueFilter(states=["reported"]),
        "/api/queue?state=reported",
    ),
    View("handler's department", "handler", QueueFilter, "/api/queue"),
]


@dataclass
class Result:
    view: str
    n: int
    first_ms: float
    deep_ms: float
    deep_page: int
    http_first_ms: float
    http_deep_ms: float
    last_ms: float
    last_page: int


class Bench:
    """One generated database, its app, signed-in clients and actors."""

    def __init__(self, app: Flask, city: gen.City, now: datetime) -> None:
        self.app, self.now = app, now
        self.client: FlaskClient = app.test_client()
        self.worst_cursor: dict[str, list[Any] | None] = {}
        dept_id = next(d for d, (_, u) in city.handlers.items() if u.endswith("sanitation"))
        handler_id, handler_login = city.handlers[dept_id]
        with database(app).session() as s:
            from sqlalchemy import select

            from server.models import User

            dispatcher_id = s.scalar(select(User.id).where(User.username == "dispatcher1"))
        self.actors = {
            "dispatcher": Actor(dispatcher_id, Role.DISPATCHER),
            "handler": Actor(handler_id, Role.HANDLER, dept_id),
        }
        self.headers = {
            "dispatcher": self._login("dispatcher1"),
            "handler": self._login(handler_login),
        }

    def _login(self, username: str) -> dict[str, str]:
        resp = self.client.post(
            "/api/auth/login",
            json={
                "username": username,
                "password": DEMO_PASSWORD,
                "device_id": f"bench-{username}",
            },
        )
        assert resp.status_code == 200, resp.json
        return {"Authorization": f"Bearer {resp.json['access_token']}"}

    def page(self, view: View, after: list[Any] | None) -> tuple[list[Any], list[Any] | None]:
        with database(self.app).session() as s:
            return queue(s, self.actors[view.who], view.filter(), self.now, LIMIT, after)

    def http(self, view: View, after: list[Any] | None) -> dict[str, Any]:
        sep = "&" if "?" in view.path else "?"
        url = f"{view.path}{sep}limit={LIMIT}"
        if after:
            url += f"&after={encode_cursor(after)}"
        resp = self.client.get(url, headers=self.headers[view.who])
        assert resp.status_code == 200, (url, resp.status_code, resp.json)
        return resp.json  # type: ignore[no-any-return]

    def run(self, view: View, n: int, deep: int, repeats: int) -> Result:
        after: list[Any] | None = None
        cursor: list[Any] | None = None
        page_no = 1
        while page_no < deep:  # follow the cursors, as a client paging down would
            rows, nxt = self.page(view, after)
            if nxt is None:
                break
            cursor, after, page_no = nxt, nxt, page_no + 1
        last, last_no, after = cursor, page_no, cursor
        while True:  # on to the end: the last page is where a filtered scan costs most
            rows, nxt = self.page(view, after)
            if nxt is None:
                break
            last, after, last_no = nxt, nxt, last_no + 1
        self.worst_cursor[view.name] = last  # the page a plan is most telling for
        first = self.http(view, None)
        _check(view, first, self.now)
        return Result(
            view.name,
            n,
            time_ms(lambda: self.page(view, None), repeats),
            time_ms(lambda: self.page(view, cursor), repeats),
            page_no,
            time_ms(lambda: self.http(view, None), repeats),
            time_ms(lambda: self.http(view, cursor), repeats),
            time_ms(lambda: self.page(view, last), repeats),
            last_no,
        )

    def plan(self, view: View) -> str:
        """The database's plan for the view's last page (its costliest when filtered)."""
        engine = database(self.app).engine
        seen: list[tuple[str, Any]] = []

        def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "FROM cases" in statement:
                seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", grab)
        try:
            self.page(view, self.worst_cursor.get(view.name))
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        statement, params = seen[-1]
        prefix = (
            "EXPLAIN QUERY PLAN "
            if engine.dialect.name == "sqlite"
            else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        )
        with engine.connect() as conn:
            out = conn.exec_driver_sql(prefix + statement, params).fetchall()
        lines = [" ".join(str(c) for c in r[-1:]) for r in out]
        return statement.replace("\n", " ") + "\n    " + "\n    ".join(lines)


def _check(view: View, page: dict[str, Any], now: datetime) -> None:
    """The generated data must exercise the view: items present, lights as filtered."""
    items = page["items"]
    assert items, f"{view.name}: empty first page — the generated mix does not cover it"
    f = view.filter()
    if f.light is not None:
        assert {i["light"] for i in items} == {f.light.value}, view.name


def run_size(
    engine: str, n: int, deep: dict[str, int] | int, repeats: int, explain: bool, keep: bool
) -> list[Result]:
    """Generate ``n`` cases and time every view; ``deep`` is the deep page (per view)."""
    now = datetime.now(UTC).replace(microsecond=0)
    with scratch_db(engine, f"cgt_bench_queue_{n}", keep=keep) as url:
        g = gen.generate(url, n, now)
        print(
            f"  generated {n:,} cases on {engine} in {g.seconds:.1f} s; open by light: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(g.lights.items()) if k != "none"),
            flush=True,
        )
        app = bench_app(url, clock=FixedClock(now))
        try:
            with database(app).session() as s:
                city = gen.read_city(s)
            bench = Bench(app, city, now)
            results = []
            for view in VIEWS:
                depth = deep if isinstance(deep, int) else deep[view.name]
                r = bench.run(view, n, depth, repeats)
                results.append(r)
                print(
                    f"  {view.name:<22} first {r.first_ms:6.2f} ms  page {r.deep_page:>3} "
                    f"{r.deep_ms:6.2f} ms | HTTP first {r.http_first_ms:6.2f} ms  "
                    f"deep {r.http_deep_ms:6.2f} ms | last page {r.last_page} "
                    f"{r.last_ms:6.2f} ms",
                    flush=True,
                )
                worst = max(r.first_ms, r.deep_ms, r.http_first_ms, r.http_deep_ms, r.last_ms)
                if explain or worst > PAGE_TARGET_MS:
                    print("    plan: " + bench.plan(view), flush=True)
            return results
        finally:
            shutdown(app)


def report(engine: str, sizes: list[int], results: dict[int, list[Result]]) -> str:
    small, large = sizes[0], sizes[-1]
    rows = []
    for i, view in enumerate(VIEWS):
        row: list[Any] = [view.name]
        for n in sizes:
            r = results[n][i]
            row += [
                r.first_ms,
                f"{r.deep_ms:.2f} (p{r.deep_page})",
                r.http_first_ms,
                r.http_deep_ms,
                f"{r.last_ms:.2f} (p{r.last_page})",
            ]
        if large != small:
            a, b = results[small][i], results[large][i]
            growth = max(b.first_ms / a.first_ms, b.deep_ms / a.deep_ms, b.last_ms / a.last_ms)
            http_growth = max(b.http_first_ms / a.http_first_ms, b.http_deep_ms / a.http_deep_ms)
            row += [f"{growth:.2f}×", f"{http_growth:.2f}×"]
        rows.append(row)
    headers = ["view"]
    for n in sizes:
        k = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        headers += [
            f"{k} svc first",
            f"{k} svc deep",
            f"{k} HTTP first",
            f"{k} HTTP deep",
            f"{k} svc last",
        ]
    if large != small:
        headers += [f"svc {large // small}× growth", "HTTP growth"]
    every = [r for n in sizes for r in results[n]]
    worst = max(
        max(r.first_ms, r.deep_ms, r.http_first_ms, r.http_deep_ms, r.last_ms) for r in every
    )
    verdict = f"worst page {worst:.1f} ms (target ≤ {PAGE_TARGET_MS:.0f} ms)"
    if large != small:
        growths = [
            max(b.first_ms / a.first_ms, b.deep_ms / a.deep_ms, b.last_ms / a.last_ms)
            for a, b in zip(results[small], results[large], strict=True)
        ]
        verdict += f"; worst service growth {max(growths):.2f}× (target ≤ {GROWTH_TARGET}×)"
    return f"### {engine} (ms, median)\n\n{table(headers, rows)}\n\n{verdict}\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench queue", description=__doc__)
    size_args(p, deep=100)
    p.add_argument("--explain", action="store_true", help="print every view's query plan")
    args = p.parse_args(argv)
    engines, sizes = engines_and_sizes(args)
    print(f"queue bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    out = []
    for engine in engines:
        results: dict[int, list[Result]] = {}
        deep: dict[str, int] | int = args.deep
        for n in sizes:
            print(f"[{engine} {n:,} cases]", flush=True)
            results[n] = run_size(engine, n, deep, args.repeats, args.explain, args.keep)
            # Larger sizes time the same page number, so growth compares like with like.
            deep = {r.view: r.deep_page for r in results[n]}
        out.append(report(engine, sizes, results))
    print("\n" + "\n".join(out))
    return 0
