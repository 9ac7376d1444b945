"""Console pages at 100k and 1M cases: a page must render in ≤ 50 ms of server time.

For every size a fresh database is generated (``bench.gen``, the queue bench's data) and a
few hundred overdue dispatched cases are supervised through the real use case, so the 督办
pages have notes to show. Each page is then fetched in-process through the Flask test client as a
signed-in dispatcher or department handler — the whole server side of a request: session and
user look-up, argument parsing, the queries, and rendering the Jinja template — and the
median time is reported, for the first page and for a deep page reached by following the
page's own "next page" links (the same page number at every size). Pages that miss get
their SQL statement count printed, to show where the time goes.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from server import shutdown
from server.api.context import case_ctx
from server.clock import FixedClock
from server.db import database
from server.models import Case, User
from server.services import cases as case_svc
from server.services.actor import Actor
from server.services.demo import DEMO_PASSWORD
from shared_models.enums import CaseState, Role

from . import gen
from .common import (
    bench_app,
    engines_and_sizes,
    machine,
    scratch_db,
    size_args,
    table,
    time_stats,
)

PAGE_TARGET_MS = 50.0
SUPERVISED = 300
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
NEXT = re.compile(r'id="next-page" href="([^"]+)"')


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # "dispatcher" or "handler"
    path: str  # "{case}" is replaced by an open case's id, "{short}" by its short number


PAGES = [
    Page("new reports", "dispatcher", "/console/queue/new"),
    Page("to dispatch", "dispatcher", "/console/queue/dispatch"),
    Page("returned", "dispatcher", "/console/queue/returned"),
    Page("overdue (red)", "dispatcher", "/console/queue/overdue"),
    Page("yellow", "dispatcher", "/console/queue/yellow"),
    Page("all open, by department", "dispatcher", "/console/queue/open?department=SANITATION"),
    Page("all open, by grid", "dispatcher", "/console/queue/open?grid=410402001001001"),
    Page("search: number", "dispatcher", "/console/queue/open?q={short}"),
    Page("search: address", "dispatcher", "/console/queue/open?q=光明路1"),
    Page("search: no match", "dispatcher", "/console/queue/open?q=无此地址"),
    Page("search: 2 chars", "dispatcher", "/console/queue/open?q=漆黑"),
    Page("search: 2 chars, no match", "dispatcher", "/console/queue/open?q=无此"),
    Page("search: 1 char", "dispatcher", "/console/queue/open?q=灯"),
    Page("search: 1 char, no match", "dispatcher", "/console/queue/open?q=鼠"),
    Page("case page", "dispatcher", "/console/cases/{case}"),
    Page("supervision", "dispatcher", "/console/supervision"),
    Page("case map", "dispatcher", "/console/map"),
    Page("handler: to accept", "handler", "/console/queue/todo"),
    Page("handler: overdue", "handler", "/console/queue/overdue"),
]


@dataclass
class Result:
    page: str
    n: int
    first_ms: float  # median wall time
    first_min: float  # fastest wall time
    first_cpu: float  # median CPU time of the server process
    deep_ms: float | None
    deep_min: float | None
    deep_cpu: float | None
    deep_page: int | None
    statements: int


class Bench:
    """One generated database, its app, and a signed-in browser-like client per role."""

    def __init__(self, app: Flask, city: gen.City, now: datetime) -> None:
        self.app, self.now = app, now
        handler_login = next(u for _, u in city.handlers.values() if u.endswith("sanitation"))
        self.clients = {
            "dispatcher": self._sign_in("dispatcher1"),
            "handler": self._sign_in(handler_login),
        }
        with database(app).session() as s:
            self.case_id = s.scalar(
                select(Case.id).where(Case.state == "reported").order_by(Case.id).limit(1)
            )
        assert self.case_id, "no reported case generated"

    def _sign_in(self, username: str) -> FlaskClient:
        client = self.app.test_client()
        page = client.get("/console/login").get_data(as_text=True)
        match = TOKEN.search(page)
        assert match, "no CSRF token on the sign-in page"
        form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": match.group(1)}
        assert client.post("/console/login", data=form).status_code == 303
        return client

    def path(self, page: Page) -> str:
        return page.path.format(case=self.case_id, short=self.case_id[:8])

    def get(self, page: Page, path: str) -> str:
        resp = self.clients[page.who].get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp.get_data(as_text=True)

    def deep_path(self, page: Page, depth: int) -> tuple[str | None, int]:
        """Follow the page's own "next page" links down to page ``depth`` (or the last)."""
        path, number, html = self.path(page), 1, self.get(page, self.path(page))
        while number < depth:
            match = NEXT.search(html)
            if not match:
                break
            path, number = match.group(1).replace("&amp;", "&"), number + 1
            html = self.get(page, path)
        return (path, number) if number > 1 else (None, 1)

    def statements(self, page: Page) -> int:
        seen = [0]

        def count(*_: Any) -> None:
            seen[0] += 1

        engine = database(self.app).engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            self.get(page, self.path(page))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return seen[0]

    def run(self, page: Page, n: int, depth: int, repeats: int) -> Result:
        first = time_stats(lambda: self.get(page, self.path(page)), repeats)
        deep, number = self.deep_path(page, depth) if depth > 1 else (None, 1)
        deeps = time_stats(lambda: self.get(page, deep), repeats) if deep else (None,) * 3
        return Result(
            page.name,
            n,
            *first,
            *deeps,
            number if deep else None,
            self.statements(page),
        )


def supervise_some(app: Flask, count: int) -> int:
    """督办 notes on the most overdue cases a unit holds (dispatched, not returned to the
    desk: ``not_dispatched``, ``returned_to_desk``), written by the real use case."""
    with app.test_request_context(), database(app).session() as s:
        ctx = case_ctx()
        desk = s.scalar(select(User).where(User.username == "dispatcher1"))
        assert desk is not None
        actor = Actor(desk.id, Role.DISPATCHER)
        ids = s.scalars(
            select(Case.id)
            .where(
                Case.step_deadline <= ctx.now,
                Case.department_id.is_not(None),
                Case.state != CaseState.RETURNED.value,
            )
            .order_by(Case.step_deadline, Case.id)
            .limit(count)
        ).all()
        for cid in ids:
            case_svc.supervise(s, actor, cid, "已超时，请尽快处置（基准测试）", ctx)
    return len(ids)


def run_size(engine: str, n: int, depth: int, repeats: int, keep: bool) -> list[Result]:
    now = datetime.now(UTC).replace(microsecond=0)
    with scratch_db(engine, f"cgt_bench_console_{n}", keep=keep) as url:
        g = gen.generate(url, n, now)
        print(f"  generated {n:,} cases on {engine} in {g.seconds:.1f} s", flush=True)
        app = bench_app(url, clock=FixedClock(now))
        try:
            supervised = supervise_some(app, SUPERVISED)
            print(f"  supervised {supervised} overdue cases", flush=True)
            with database(app).session() as s:
                city = gen.read_city(s)
            bench = Bench(app, city, now)
            results = []
            for page in PAGES:
                r = bench.run(page, n, depth, repeats)
                results.append(r)
                print(
                    f"  {page.name:<26} first {_cell(r.first_ms, r.first_min, r.first_cpu)}  "
                    f"deep {_cell(r.deep_ms, r.deep_min, r.deep_cpu, r.deep_page)}  "
                    f"({r.statements} SQL statements)",
                    flush=True,
                )
            return results
        finally:
            shutdown(app)


def _cell(
    median: float | None, fastest: float | None, cpu: float | None, page: int | None = None
) -> str:
    if median is None or fastest is None or cpu is None:
        return "—"
    where = f" (p{page})" if page else ""
    return f"{median:.1f} / {fastest:.1f} / {cpu:.1f}{where}"


def report(engine: str, sizes: list[int], results: dict[int, list[Result]]) -> str:
    rows = []
    for i, page in enumerate(PAGES):
        row: list[Any] = [page.name, results[sizes[0]][i].statements]
        for n in sizes:
            r = results[n][i]
            row.append(_cell(r.first_ms, r.first_min, r.first_cpu))
            row.append(_cell(r.deep_ms, r.deep_min, r.deep_cpu, r.deep_page))
        rows.append(row)
    headers = ["page", "SQL"]
    for n in sizes:
        k = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        headers += [f"{k} first", f"{k} deep"]
    every = [r for n in sizes for r in results[n]]

    def worst(pick: Any) -> tuple[float, Result]:
        return max(((max(pick(r)), r) for r in every), key=lambda x: x[0])

    median, at = worst(lambda r: (r.first_ms, r.deep_ms or 0))
    fastest, at_min = worst(lambda r: (r.first_min, r.deep_min or 0))
    cpu, at_cpu = worst(lambda r: (r.first_cpu, r.deep_cpu or 0))
    verdict = (
        f"slowest page: median {median:.1f} ms ({at.page}, {at.n:,} cases); fastest run "
        f"{fastest:.1f} ms ({at_min.page}, {at_min.n:,}); CPU {cpu:.1f} ms "
        f"({at_cpu.page}, {at_cpu.n:,}); target ≤ {PAGE_TARGET_MS:.0f} ms"
    )
    title = f"### {engine} (ms: median wall / fastest wall / median CPU of the server process)"
    return f"{title}\n\n{table(headers, rows)}\n\n{verdict}\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench console", description=__doc__)
    size_args(p, deep=20)
    args = p.parse_args(argv)
    engines, sizes = engines_and_sizes(args)
    print(f"console bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    out = []
    for engine in engines:
        results: dict[int, list[Result]] = {}
        for n in sizes:
            print(f"[{engine} {n:,} cases]", flush=True)
            results[n] = run_size(engine, n, args.deep, args.repeats, args.keep)
        out.append(report(engine, sizes, results))
    print("\n" + "\n".join(out))
    return 0
