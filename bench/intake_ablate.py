"""What a piece of the intake's work is worth: the same reports with and without it, in process.

``python -m bench intake --ablate report-event,reporter-row`` builds two apps on two scratch
databases of the same engine in this process and sends both the same kind of reports through
the test client, in batches of 50 (each batch ending with the publication of its device copies,
as the served rounds do), alternating A (the app as it is) and B (the app without the named
pieces of work) batch by batch and which goes first. It prints the median over the pairs of
B's thread CPU and wall time per report over A's: what the pieces cost, as an upper bound of
what a change that does without them could save. Paired batches on one thread see the same
moments of a noisy machine, where runs one after the other differ by ±10 points.

The ablations *break* what they remove (B's timeline lacks the report's step, its search index
misses new cases …): they measure, they are not candidates. Thread CPU is the calling thread's
(the test client and the app run on it); the maintenance thread's work (the search index's
flush, checkpoints) is not in it, the wall time carries what it takes from the machine.
"""

from __future__ import annotations

import inspect
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from flask import Flask, request

# name → what B does without
ABLATIONS = {
    "nothing": "nothing is removed: the control, whose ratio shows the method's own spread",
    "report-event": "the report's audit event row is not inserted (the timeline lacks it)",
    "reporter-row": "the reporter's case_reporters row is not inserted (the publication "
    "takes the reporter from the case row, so the devices' copies are the same)",
    "search-trigger": "SQLite: the search index's insert trigger dropped (new cases are not "
    "queued for the index, nor indexed)",
    "direct-args": "the view loads the body with the marshmallow schema itself, without "
    "webargs and flask-smorest's arguments decorator",
}
BATCH = 50
# batches of A (0) and B (1) before the timed pairs: connections, caches
WARM_UP = (0, 1, 0, 1, 0, 1)


@contextmanager
def _skip_insert(prepared: Any) -> Iterator[None]:
    """A ``Prepared`` INSERT that writes nothing while the block runs."""
    prepared.executemany = lambda *_: None
    try:
        yield
    finally:
        del prepared.executemany


@contextmanager
def _reporter_from_case() -> Iterator[None]:
    """The publication's reporters taken from ``cases.reporter_id`` when the case has no
    ``case_reporters`` row: B publishes the same reporter's copy A does."""
    from server import sync_publish

    publish_views = sync_publish.publish_views

    def views(w: Any, s: Any, case: Any, photos: Any, reporters: Any) -> None:
        reporters = list(reporters) or ([case.reporter_id] if case.reporter_id else [])
        publish_views(w, s, case, photos, reporters)

    sync_publish.publish_views = views
    try:
        yield
    finally:
        sync_publish.publish_views = publish_views


def _direct_view() -> Callable[..., Any]:
    """``POST /api/cases``'s view with the body loaded by the schema in the view."""
    from server.api.cases import CaseIntake
    from server.api.security import current_actor
    from shared_models.schemas import CaseReportSchema

    post, schema = inspect.unwrap(CaseIntake.post), CaseReportSchema()

    def view(**_: Any) -> Any:
        current_actor()
        return post(None, schema.load(request.get_json()))

    return view


def prepare_b(app: Flask, names: list[str]) -> None:
    """What B's app and database lack for good (the rest is switched per batch: ``during``)."""
    if "search-trigger" in names:
        from sqlalchemy import text

        from server.db import database

        with database(app).engine.begin() as conn:
            conn.execute(text("DROP TRIGGER case_search_insert"))
    if "direct-args" in names:
        app.view_functions["cases.CaseIntake"] = _direct_view()


@contextmanager
def during(names: list[str]) -> Iterator[None]:
    """Switch off, while B's batch runs, the process-wide pieces ``names`` remove."""
    from server.services import case_intake

    with ExitStack() as stack:
        if "report-event" in names:
            stack.enter_context(_skip_insert(case_intake.INSERT_EVENTS))
        if "reporter-row" in names:
            stack.enter_context(_skip_insert(case_intake.INSERT_REPORTER))
            stack.enter_context(_reporter_from_case())
        yield


def ablate(engine: str, names: list[str], pairs: int, seed: int) -> str:
    """Paired batches of A (as is) and B (without ``names``); the table of B / A."""
    from server import shutdown

    from .common import scratch_db
    from .intake import IN_PROCESS_PHONE, report_bodies, setup_database, signed_in_client

    unknown = [n for n in names if n not in ABLATIONS]
    if unknown:
        raise SystemExit(f"--ablate: unknown {unknown}; known: {', '.join(ABLATIONS)}")
    if "search-trigger" in names and engine != "sqlite":
        raise SystemExit("--ablate search-trigger: the trigger is SQLite's")
    with ExitStack() as stack:
        urls = [stack.enter_context(scratch_db(engine, f"cgt_bench_ablate_{ab}")) for ab in "ab"]
        clients = []
        for url in urls:
            setup_database(url)
            clients.append(signed_in_client(url, IN_PROCESS_PHONE))
            # ended before its scratch database is removed, a failed batch too
            stack.callback(shutdown, clients[-1][0].application)
        prepare_b(clients[1][0].application, names)
        bodies = iter(report_bodies(BATCH * (2 * pairs + len(WARM_UP)), seed + 3))

        def batch(b: int) -> tuple[float, float]:
            client, auth = clients[b]
            with during(names) if b else ExitStack():
                t0, c0 = time.perf_counter(), time.thread_time()
                for _ in range(BATCH):
                    r = client.post("/api/cases", data=next(bodies), headers=auth)
                    assert r.status_code == 201, r.get_data(as_text=True)
                client.post("/bench/publish")
                return (time.perf_counter() - t0) / BATCH, (time.thread_time() - c0) / BATCH

        for b in WARM_UP:
            batch(b)
        per: list[list[tuple[float, float]]] = [[], []]
        for p in range(pairs):
            for b in (0, 1) if p % 2 == 0 else (1, 0):
                per[b].append(batch(b))
    wall = statistics.median(b[0] / a[0] for a, b in zip(*per, strict=True))
    cpu = statistics.median(b[1] / a[1] for a, b in zip(*per, strict=True))
    a_cpu = statistics.median(a[1] for a in per[0]) * 1e6
    lines = [f"ablation in process ({engine}, {pairs} pairs of {BATCH}-report batches):"]
    lines += [f"  B without {n}: {ABLATIONS[n]}" for n in names]
    lines.append(
        f"  B / A per report: thread CPU ×{cpu:.3f}, wall ×{wall:.3f} "
        f"(A: {a_cpu:.0f} µs thread CPU a report, its publication included)"
    )
    return "\n".join(lines)
