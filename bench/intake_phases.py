"""Where a served report's time goes: thread CPU between marks on ``POST /api/cases``.

``python -m bench intake --phases`` builds the served app with this instrumentation: the
functions the intake passes through are wrapped so each records ``time.thread_time()`` as
it is entered and left, the request's first and last marks taken by a WSGI wrapper. The
rounds are measured as usual (a wrapped call with its two marks costs ~2.2 µs in a loop,
nine a report: ~20 µs, ~1% of a served report; the bare POST's one, ~0.3%), then
``/bench/phases`` hands back, for every pair of consecutive marks, the median and the mean
of the thread CPU between them: the server's own work per phase, without the HTTP server,
the network and the client. Thread CPU, not wall time: a request that waits (the GIL,
SQLite's busy handler) does not count its wait — served on a calm host the two agree within
~1% inside the app (measured on 1,830 reports: median wall 814 µs, CPU 809 µs). The bare
POST is timed the same way (framework before and after its view, and the view), so the
framework's own share shows beside the intake's.

The wrapped names are the intake's path as the code has it (``server.api.cases``,
``server.services.case_intake``); one renamed or gone stops the instrumented server from
starting, and the bench's smoke test fails on it (tests/integration/test_bench_smoke.py).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

# (module, attribute, mark's name): entering records "<name>", leaving records "<name> done".
WRAPPED = (
    ("server.api.security", "current_actor", "sign-in"),
    ("server.api.cases", "case_ctx", "case context"),
    ("server.services.case_intake", "prepare", "checks and rows"),
    ("server.services.case_intake", "insert_new", "INSERT case, event, reporter"),
    ("server.services.case_intake", "find_candidates", "same problem? look-up"),
    ("server.api.cases", "queue_new", "publish-queue row"),
)
INTAKE, BARE = "/api/cases", "/bench/bare"
VIEW, COMMIT = "view", "COMMIT"
# What the time between two marks is, when it is not the marked call itself.
BETWEEN = {
    ("start", VIEW): "Flask before the view (routing, hooks)",
    ("sign-in done", "case context"): "arguments (JSON body, marshmallow)",
    (f"{COMMIT} done", f"{VIEW} done"): "the answer (case view, JSON)",
    (f"{VIEW} done", "end"): "Flask after the view (response, teardown)",
}


def install(app: Flask) -> None:
    """Instrument ``app`` (the served app, in the server's process) and add ``/bench/phases``."""
    import importlib

    from sqlalchemy.orm import Session

    local = threading.local()
    marks: dict[str, list[list[tuple[str, float]]]] = {INTAKE: [], BARE: []}

    def mark(name: str) -> None:
        """Record ``name`` once a request: a second call of a marked function (the view
        asks for the signed-in user again, answered from ``g``) falls in the phase around it."""
        m = getattr(local, "marks", None)
        if m is not None and name not in local.seen:
            local.seen.add(name)
            m.append((name, time.thread_time()))

    def wrapped(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            mark(name)
            try:
                return fn(*args, **kwargs)
            finally:
                mark(f"{name} done")

        return call

    for module, attr, name in WRAPPED:
        mod = importlib.import_module(module)
        setattr(mod, attr, wrapped(getattr(mod, attr), name))
    commit = Session.commit
    Session.commit = wrapped(commit, COMMIT)  # type: ignore[method-assign]
    for endpoint in ("cases.CaseIntake", "bench_bare_post"):
        app.view_functions[endpoint] = wrapped(app.view_functions[endpoint], VIEW)

    # thread CPU seconds, cases: every drain of the intake's queue (/bench/publish's, the
    # applier's, a pull's)
    published = [0.0, 0]
    queue = app.extensions.get("cgt_publish_queue")
    if queue is not None:
        drain = queue.drain

        def timed_drain(*args: Any, **kwargs: Any) -> int:
            t0 = time.thread_time()
            n: int = drain(*args, **kwargs)
            if n:
                published[0] += time.thread_time() - t0
                published[1] += n
            return n

        queue.drain = timed_drain

    inner = app.wsgi_app

    def timed(environ: Any, start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if environ["REQUEST_METHOD"] != "POST" or path not in marks:
            return inner(environ, start_response)
        local.seen = set()
        local.marks = [("start", time.thread_time())]
        try:
            return inner(environ, start_response)
        finally:
            local.marks.append(("end", time.thread_time()))
            marks[path].append(local.marks)
            local.marks = None

    app.wsgi_app = timed  # type: ignore[method-assign]

    def forget() -> None:
        for runs in marks.values():
            runs.clear()
        published[:] = [0.0, 0]

    server_times = app.view_functions["bench_server_times"]
    warm: list[bool] = []

    def server_times_and_forget() -> Any:
        """The bench first asks for the server's times when its warm-up is over: the phases
        count from there too (later asks, at the end of the rounds, leave them be)."""
        if not warm:
            warm.append(True)
            forget()
        return server_times()

    app.view_functions["bench_server_times"] = server_times_and_forget

    @app.get("/bench/phases")
    def bench_phases() -> Any:
        """Per route, per pair of consecutive marks: [from, to, median µs, mean µs, requests];
        the publication's thread CPU per case published; and forget them."""
        out: dict[str, Any] = {path: segments(runs) for path, runs in marks.items()}
        out["publish_us"] = published[0] / published[1] * 1e6 if published[1] else None
        forget()
        return out


def segments(runs: list[list[tuple[str, float]]]) -> list[tuple[str, str, float, float, int]]:
    """(from mark, to mark, median µs, mean µs, how many) in the order the marks come."""
    spans: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        for (a, ta), (b, tb) in zip(run, run[1:], strict=False):
            spans.setdefault((a, b), []).append((tb - ta) * 1e6)
    return [
        (a, b, statistics.median(v), statistics.fmean(v), len(v)) for (a, b), v in spans.items()
    ]


def named(a: str, b: str) -> bool:
    """Whether the span is a marked call (from its entry to its return) or a known stretch
    between two (``BETWEEN``), rather than the glue between two marks."""
    return b == f"{a} done" or (a, b) in BETWEEN


def label(a: str, b: str) -> str:
    """A phase's name: the call marked, what lies between two calls when it is known, or
    both marks."""
    if b == f"{a} done":
        return a
    return BETWEEN.get((a, b), f"{a} → {b}")


def _rows(spans: list[list[Any]]) -> list[list[str]]:
    """A route's phases as table rows, the unnamed spans under 5 µs (the calls between the
    marks) summed into one row, and the phases' sum last."""
    rows, small = [], [0.0, 0.0]
    for a, b, median, mean, _ in spans:
        if mean < 5 and not named(a, b):
            small = [small[0] + median, small[1] + mean]
        else:
            rows.append([label(a, b), f"{median:.0f}", f"{mean:.0f}"])
    if small[1]:
        rows.append(["between the marks (each < 5 µs)", f"{small[0]:.0f}", f"{small[1]:.0f}"])
    total = [sum(p[2] for p in spans), sum(p[3] for p in spans)]
    return [*rows, ["**the phases together**", f"{total[0]:.0f}", f"{total[1]:.0f}"]]


def phase_table(phases: dict[str, Any]) -> str:
    """The intake's phases beside the bare POST's (medians and means, thread CPU µs), and
    what publishing a report behind its answer cost."""
    from .common import table

    intake = phases.get(INTAKE, [])
    reports = max((p[4] for p in intake), default=0)
    rows = _rows(intake)
    if phases.get("publish_us") is not None:
        rows.append(
            ["publication behind the answer, per report", "", f"{phases['publish_us']:.0f}"]
        )
    return (
        f"  where a served report's time goes (thread CPU per phase over {reports} reports, "
        "--phases):\n"
        + table(["POST /api/cases: phase", "median µs", "mean µs"], rows)
        + "\n\n"
        + table(["bare POST: phase", "median µs", "mean µs"], _rows(phases.get(BARE, [])))
    )
