"""Case intake over real HTTP against a bare endpoint served by the same process.

The real app (built as ``server.wsgi`` builds it, ``server.production.production_app``, on a
file SQLite database in WAL mode, or on PostgreSQL, with the demo city loaded) runs under a
real HTTP server on loopback in a child process; the bench registers a tiny ``/bench/bare``
route (GET and POST, small JSON, no database) on the same app object, so both share server,
worker settings, middleware and client. The client is one
``requests.Session`` sending requests back to back, so req/s = 1 / latency. The server is
gunicorn with one ``gthread`` worker, which keeps the connection open between requests: the
cheapest bare route, and so the strictest ratio. ``--threads 0`` runs gunicorn's sync workers
as docs/operations.md deploys them behind nginx (``--workers 4``): a TCP connection per
request. ``--server werkzeug`` is the development server (``make run``), which also answers
every request with ``Connection: close`` and starts a thread for it.

``/bench/commit`` is the bare POST plus one row inserted and committed on the same database:
the floor under any durable write (on PostgreSQL the commit's WAL flush to disk, on SQLite in
WAL mode the log append). Rounds interleave bare GET, bare POST, the one-row commit and
``POST /api/cases`` (citizen token, new uuid each time, ~300-byte body); each ratio is the
median of the per-round ratios, which keeps a noisy machine's drift out of it. Target: intake
≥ 50% of the bare ceiling. A report's device copies are written behind its answer (rule
L-2a): each intake round ends with ``/bench/publish``, which writes what is still queued,
inside the round's timing — the intake's rate carries all the work a report costs, and the
next round's bare requests do not pay for it (``--in-process`` and ``--profile`` too).
The server records how long each POST spent inside the app (median and mean µs per route:
what the server itself spent, without the HTTP server, the network and the client); with several
workers the figures are those of the worker that answers the bench's question.
``--calibrate`` measures ``/bench/work?us=N``, the bare POST plus N µs of CPU work, against
the bare POST for N from 250 to 2000: the share of the bare POST a route gets on this
machine by the time it adds inside the app — the yardstick the intake's own figure is read
against (docs/PERFORMANCE.md, "Case intake").
``--profile`` adds a cProfile of the intake path (in-process, test client) and the SQL
statements one report costs; ``--in-process N`` times N intake requests through the test
client without HTTP or profiler (fastest batch of 50 and quartiles, the bare POST's batches
interleaved): the server's own cost per report, less blurred by a busy machine.
``--phases`` instruments the served worker and prints the thread CPU of each phase of a
report (bench/intake_phases.py). ``--ablate NAMES`` measures in process what named pieces of
a report's work cost, paired batch by batch with and without them (bench/intake_ablate.py).
``--against DIR`` serves a second source tree (a ``git archive`` copy or a worktree of another
commit, same venv; its own ``served_app`` and ``setup_database``) beside this one, each on its
own scratch database, and every round sends each kind of request to both in turn (their order
alternating between rounds): a before/after comparison whose two builds meet the same load,
where runs one after the other differ by ±10 points here. Each build gets its line, its times
inside the app and its row; ``--calibrate``, ``--in-process`` and ``--profile`` concern the
first build (this tree) only, as does ``--phases``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from flask import Flask, request
from sqlalchemy import event, text

from .common import bench_app, machine, scratch_db, table

TARGET_RATIO = 0.5
NAN = float("nan")  # a median no worker reported (several workers: one answers the ask)
OTP_CODE = "246810"
CITIZEN_PHONE = "13800000001"
PROFILE_PHONE = "13800000002"  # a code per phone per minute: the profile signs in apart
IN_PROCESS_PHONE = "13800000004"  # and so does the in-process timing
CATEGORIES = ("SJ0101", "BJ0101", "SJ0501", "SJ0201", "BJ0301")
STREETS = ("光明路", "建设路", "中兴路", "开源路", "凌云路", "矿工路")
WHAT = (
    "路边一堆垃圾没人清，已经好几天了，气味很大，路过的人都捂着鼻子，请尽快安排清运",
    "井盖松动，车辆经过时响声很大，晚上骑车的人容易摔倒，存在安全隐患，请尽快处理",
    "店铺把货物摆到人行道上占道经营，行人只能走机动车道，早晚高峰尤其危险，请处理",
)
ROOT = Path(__file__).resolve().parent.parent


def add_bare_routes(app: Flask) -> None:
    """The ceiling: a route on the same app doing no work beyond HTTP and JSON; the same
    with ``us`` microseconds of CPU work added (``/bench/work``, the calibration); and the
    time each request spent inside the app (``/bench/server-times``)."""
    served: dict[str, list[float]] = {}
    inner = app.wsgi_app

    def timed(environ: Any, start_response: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(environ, start_response)
        finally:
            if environ["REQUEST_METHOD"] == "POST":
                query = environ.get("QUERY_STRING")
                path = environ["PATH_INFO"] + (f"?{query}" if query else "")
                served.setdefault(path, []).append(time.perf_counter() - t0)

    app.wsgi_app = timed  # type: ignore[method-assign]

    @app.get("/bench/server-times")
    def bench_server_times() -> Any:
        """Median and mean µs inside the app per POST path and query since the last call
        (and forget them): what the server itself spent, without the HTTP server, network
        and client. The mean carries the slow requests (a collection, the WAL checkpoint)."""
        out = {
            k: (statistics.median(v) * 1e6, statistics.fmean(v) * 1e6)
            for k, v in served.items()
            if v
        }
        served.clear()
        return out

    @app.post("/bench/work")
    def bench_work_post() -> Any:
        """The bare POST plus ``us`` µs of the thread's CPU time spent in a loop."""
        body = request.get_json()
        until = time.thread_time() + float(request.args.get("us", 0)) / 1e6
        while time.thread_time() < until:
            sum(range(100))
        return {"ok": True, "id": body.get("id")}, 201

    @app.post("/bench/publish")
    def bench_publish() -> Any:
        """Publish the intake's queue to devices now (rule L-2a), in this request: the
        client times it with the intake's requests, so their rate carries all the work a
        report costs — the answer and the device copies written behind it."""
        queue = app.extensions.get("cgt_publish_queue")
        return {"published": queue.drain() if queue is not None else 0}

    @app.get("/bench/bare")
    def bench_bare_get() -> Any:
        return {"ok": True, "id": "00000000-0000-4000-8000-000000000000"}

    @app.post("/bench/bare")
    def bench_bare_post() -> Any:
        body = request.get_json()
        return {"ok": True, "id": body.get("id")}, 201

    @app.post("/bench/commit")
    def bench_commit_post() -> Any:
        """The floor of any durable write: the bare POST plus one row committed."""
        from server.db import database

        body = request.get_json()
        with database(app).engine.begin() as conn:
            conn.execute(text("INSERT INTO bench_commit (id) VALUES (:id)"), {"id": body["id"]})
        return {"ok": True, "id": body.get("id")}, 201


def served_app() -> Flask:
    """The app the child server runs (also a gunicorn factory: ``bench.intake:served_app()``),
    built as production builds it (``server.wsgi``)."""
    app = bench_app(os.environ["CGT_BENCH_DB_URL"], served=True, OTP_FIXED_CODE=OTP_CODE)
    add_bare_routes(app)
    if os.environ.get("CGT_BENCH_PHASES"):
        from . import intake_phases

        intake_phases.install(app)
    return app


def setup_database(url: str) -> None:
    """Schema from the models, demo city loaded, as ``make run`` would have it."""
    from server import shutdown
    from server.db import database
    from server.models import Base
    from server.services.auth import hasher
    from server.services.demo import load_demo_city

    app = bench_app(url)
    Base.metadata.create_all(database(app).engine)
    with database(app).engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_commit (id VARCHAR(64) PRIMARY KEY)"))
    with database(app).session() as s:
        load_demo_city(s, hasher(app.config), datetime.now(UTC))
    shutdown(app)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    url: str, server: str, workers: int, threads: int, root: Path = ROOT, phases: bool = False
) -> Iterator[str]:
    """The app (of the source tree at ``root``) under a real HTTP server in a child process;
    yields its base URL. ``phases``: instrumented for ``--phases`` (bench/intake_phases.py)."""
    port = _free_port()
    env = {**os.environ, "CGT_BENCH_DB_URL": url, "PYTHONPATH": str(root)}
    if phases:
        env["CGT_BENCH_PHASES"] = "1"
    if server == "gunicorn":
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads else []),
            "--log-level", "warning", "bench.intake:served_app()",
        ]  # fmt: skip
    else:
        cmd = [sys.executable, "-m", "bench.intake", "--serve", str(port)]
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if requests.get(f"{base}/bench/bare", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve_werkzeug(port: int) -> None:
    from werkzeug.serving import make_server

    # werkzeug 3 closes the connection after every response, whatever the HTTP version
    make_server("127.0.0.1", port, served_app(), threaded=True).serve_forever()


def report_bodies(n: int, seed: int) -> list[bytes]:
    """``n`` distinct citizen reports (~300 bytes of UTF-8 JSON) at points inside the grid."""
    from server.services.demo import demo_city_document

    rnd = random.Random(seed)
    cells = [c["bbox"] for c in demo_city_document()["grid"]]
    out = []
    for _ in range(n):
        la0, lo0, la1, lo1 = rnd.choice(cells)
        body = {
            "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "category_code": rnd.choice(CATEGORIES),
            "lat": round(rnd.uniform(la0, la1), 6),
            "lon": round(rnd.uniform(lo0, lo1), 6),
            "coord_system": "wgs84",
            "address": f"{rnd.choice(STREETS)}{rnd.randint(1, 300)}号门口",
            "description": rnd.choice(WHAT),
        }
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


def citizen_headers(http: requests.Session, base: str) -> dict[str, str]:
    r = http.post(f"{base}/api/auth/otp", json={"phone": CITIZEN_PHONE})
    assert r.status_code == 202, r.text
    r = http.post(
        f"{base}/api/auth/otp/verify",
        json={"phone": CITIZEN_PHONE, "code": OTP_CODE, "device_id": "bench-intake"},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _rate(send: Any, bodies: list[bytes], expect: int, then: Any = None) -> float:
    """Requests per second sending ``bodies`` one after the other; ``then`` (the intake's
    publication behind its answers) runs inside the timing, after the last one."""
    t0 = time.perf_counter()
    for body in bodies:
        r = send(body)
        if r.status_code != expect:
            raise AssertionError(f"{r.status_code}: {r.text[:300]}")
    if then is not None:
        then()
    return len(bodies) / (time.perf_counter() - t0)


KINDS = ("bare GET", "bare POST", "commit", "intake")


def _senders(http: requests.Session, base: str) -> dict[str, tuple[Any, int, Any]]:
    """Per kind of request: how to send one body to ``base``, the status it must get, and
    what runs after the round's last one, inside its timing (``_rate``'s ``then``)."""
    auth = {**citizen_headers(http, base), "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}

    def publish() -> None:
        """The reports' device copies, written behind their answers (rule L-2a): drained
        here, inside the intake's timing (a build without the queue answers 404)."""
        r = http.post(f"{base}/bench/publish")
        if r.status_code not in (200, 404):
            raise AssertionError(f"{r.status_code}: {r.text[:300]}")

    return {
        "bare GET": (lambda _: http.get(f"{base}/bench/bare"), 200, None),
        "bare POST": (lambda b: http.post(f"{base}/bench/bare", data=b, headers=plain), 201, None),
        "commit": (lambda b: http.post(f"{base}/bench/commit", data=b, headers=plain), 201, None),
        "intake": (lambda b: http.post(f"{base}/api/cases", data=b, headers=auth), 201, publish),
    }


def measure_builds(
    bases: list[str], requests_per_round: int, rounds: int, seed: int
) -> list[dict[str, Any]]:
    """Each round sends every kind of request to each server in turn (the servers' order
    alternating between rounds), so two builds served at once share the machine's moods."""
    sessions = [requests.Session() for _ in bases]
    senders = [_senders(http, base) for http, base in zip(sessions, bases, strict=True)]
    bodies = report_bodies(requests_per_round * (rounds + 1), seed)
    chunks = [bodies[i :: rounds + 1] for i in range(rounds + 1)]
    warm = chunks.pop()[: max(20, requests_per_round // 10)]  # connections, caches, JIT-free warmup
    for http, base, build in zip(sessions, bases, senders, strict=True):
        for send, expect, then in build.values():
            _rate(send, warm, expect, then)
        server_times(http, base)
    per: list[dict[str, list[float]]] = [{k: [] for k in KINDS} for _ in bases]
    for n, chunk in enumerate(chunks):
        order = range(len(bases)) if n % 2 == 0 else reversed(range(len(bases)))
        for b in order:
            for kind, (send, expect, then) in senders[b].items():
                per[b][kind].append(_rate(send, chunk, expect, then))
    inside = [server_times(http, base) for http, base in zip(sessions, bases, strict=True)]
    for http in sessions:
        http.close()
    body_bytes = statistics.mean(len(b) for b in bodies)
    return [_summary(p, i, body_bytes) for p, i in zip(per, inside, strict=True)]


def _summary(
    per: dict[str, list[float]], inside: dict[str, tuple[float, float]], body_bytes: float
) -> dict[str, Any]:
    def ratio(to: str) -> float:
        return statistics.median(i / o for i, o in zip(per["intake"], per[to], strict=True))

    return {
        "rps": {k: statistics.median(v) for k, v in per.items()},
        "ratio_get": ratio("bare GET"),
        "ratio_post": ratio("bare POST"),
        "ratio_commit": ratio("commit"),
        "body_bytes": body_bytes,
        "inside": {
            "bare POST": inside.get("/bench/bare", (NAN, NAN)),
            "commit": inside.get("/bench/commit", (NAN, NAN)),
            "intake": inside.get("/api/cases", (NAN, NAN)),
        },
    }


CALIBRATION_US = (250, 500, 750, 1000, 1500, 2000)


def server_times(http: requests.Session, base: str) -> dict[str, tuple[float, float]]:
    """Median and mean µs inside the app per POST route since the last ask; none from a build
    older than the route (``--against`` an older commit: its figures are nan)."""
    r = http.get(f"{base}/bench/server-times")
    if r.status_code == 404:
        return {}
    return {k: (v[0], v[1]) for k, v in r.json().items()}


def calibrate(base: str, requests_per_round: int, rounds: int, seed: int) -> list[dict[str, float]]:
    """What a route gets of the bare POST on this machine by the time it spends in the app:
    per ``us`` in ``CALIBRATION_US``, ``/bench/work?us=…`` (the bare POST plus that much CPU
    work) against the bare POST, rounds interleaved; the ratio is the median of the rounds'
    ratios, ``inside`` the mean µs the route spent in the app (``/bench/server-times``: the
    mean, as req/s is a mean too)."""
    http = requests.Session()
    plain = {"Content-Type": "application/json"}
    bodies = report_bodies(requests_per_round, seed + 3)
    ratios: dict[int, list[float]] = {us: [] for us in CALIBRATION_US}

    def post(path: str) -> Any:
        return lambda b: http.post(f"{base}{path}", data=b, headers=plain)

    _rate(post("/bench/bare"), bodies[:50], 201)
    server_times(http, base)
    for _ in range(rounds):
        for us in CALIBRATION_US:
            bare = _rate(post("/bench/bare"), bodies, 201)
            ratios[us].append(_rate(post(f"/bench/work?us={us}"), bodies, 201) / bare)
    inside = server_times(http, base)
    http.close()
    return [
        {
            "us": us,
            "inside": inside.get(f"/bench/work?us={us}", (NAN, NAN))[1],
            "bare_inside": inside.get("/bench/bare", (NAN, NAN))[1],
            "ratio": statistics.median(ratios[us]),
        }
        for us in CALIBRATION_US
    ]


def calibration_table(curve: list[dict[str, float]], inside: dict[str, tuple[float, float]]) -> str:
    """The calibration as a table, with the intake's own point for comparison."""
    rows = [
        [f"{c['us']:.0f}", f"{c['inside']:.0f}", f"{c['inside'] - c['bare_inside']:.0f}",
         f"{c['ratio']:.0%}"]
        for c in curve
    ]  # fmt: skip
    mean = {k: a for k, (_, a) in inside.items()}
    rows.append(["intake", f"{mean['intake']:.0f}", f"{mean['intake'] - mean['bare POST']:.0f}",
                 "(above)"])  # fmt: skip
    head = ["/bench/work?us=", "µs inside the app (mean)", "µs more than bare POST", "of bare POST"]
    return "  calibration: a route's share of the bare POST by its time in the app\n" + table(
        head, rows
    )


def signed_in_client(url: str, phone: str) -> tuple[Any, dict[str, str]]:
    """The served app's test client and the headers of the citizen signed in with ``phone``."""
    app = served_app_for(url)
    client = app.test_client()
    client.post("/api/auth/otp", json={"phone": phone})
    r = client.post(
        "/api/auth/otp/verify",
        json={"phone": phone, "code": OTP_CODE, "device_id": "bench-profile"},
    )
    assert r.status_code == 200, r.json
    token = r.json["access_token"]
    return client, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def in_process(url: str, n: int, seed: int, batch: int = 50) -> str:
    """Wall time per request of ``n`` intake requests through the test client (no HTTP, no
    profiler), timed in batches of ``batch`` after 300 to warm up, with the bare POST's
    batches interleaved: the fastest batch and the quartiles, which see through a machine
    that other work slows down now and then better than one total does."""
    client, auth = signed_in_client(url, IN_PROCESS_PHONE)
    bodies = report_bodies(n + 300, seed + 2)
    for b in bodies[:300]:
        assert client.post("/api/cases", data=b, headers=auth).status_code == 201
    times: dict[str, list[float]] = {"intake": [], "bare POST": []}
    for i in range(300, n + 300, batch):
        chunk = bodies[i : i + batch]
        for name, path in (("intake", "/api/cases"), ("bare POST", "/bench/bare")):
            t0 = time.perf_counter()
            for b in chunk:
                client.post(path, data=b, headers=auth)
            if name == "intake":  # with the device copies written behind the answers
                client.post("/bench/publish")
            times[name].append((time.perf_counter() - t0) / len(chunk) * 1e6)
    lines = [f"in-process (test client), µs per request over {n} requests in batches of {batch}:"]
    for name, ts in times.items():
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else ts * 3
        lines.append(f"  {name:9s} fastest {min(ts):6.0f}  p25 {q[0]:6.0f}  median {q[1]:6.0f}")
    return "\n".join(lines)


def profile(url: str, n: int, seed: int) -> str:
    """cProfile of ``n`` intake requests through the test client, and SQL per request."""
    client, auth = signed_in_client(url, PROFILE_PHONE)
    app = client.application
    bodies = report_bodies(n + 20, seed + 1)
    for b in bodies[:20]:
        client.post("/api/cases", data=b, headers=auth)
    client.post("/bench/publish")
    from server import shutdown
    from server.db import database

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split()[0] + " " + _table_of(statement))

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", count)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for b in bodies[20:]:
        resp = client.post("/api/cases", data=b, headers=auth)
        assert resp.status_code == 201, resp.json
    client.post("/bench/publish")  # the device copies written behind the answers
    prof.disable()
    elapsed = time.perf_counter() - t0
    event.remove(engine, "before_cursor_execute", count)
    bare = time.perf_counter()
    for b in bodies[20:]:
        client.post("/bench/bare", data=b, headers=auth)
    bare = time.perf_counter() - bare
    out = io.StringIO()
    out.write(
        f"in-process (test client): intake {elapsed / n * 1000:.2f} ms/request under cProfile; "
        f"bare POST {bare / n * 1000:.2f} ms/request\n"
        f"SQL statements per intake request: {len(statements) / n:.1f}\n"
    )
    from collections import Counter

    for stmt, k in Counter(statements).most_common():
        out.write(f"  {k / n:4.1f}× {stmt}\n")
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    shutdown(app)
    return out.getvalue()


def served_app_for(url: str) -> Flask:
    os.environ["CGT_BENCH_DB_URL"] = url
    return served_app()


def _table_of(statement: str) -> str:
    words = statement.replace("\n", " ").split()
    for kw in ("FROM", "INTO", "UPDATE"):
        if kw in words:
            return words[words.index(kw) + 1]
    return ""


def _setup_in(root: Path, url: str) -> None:
    """``setup_database`` as the source tree at ``root`` has it (its models, its demo city)."""
    if root == ROOT:
        setup_database(url)
        return
    code = f"from bench.intake import setup_database; setup_database({url!r})"
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)


def _line(engine: str, result: dict[str, Any]) -> str:
    r, inside = result["rps"], result["inside"]
    return (
        f"  {engine}: bare GET {r['bare GET']:.0f} req/s, bare POST {r['bare POST']:.0f} "
        f"req/s, one-row commit {r['commit']:.0f} req/s, intake {r['intake']:.0f} req/s → "
        f"{result['ratio_get']:.0%} of bare GET, {result['ratio_post']:.0%} of bare POST, "
        f"{result['ratio_commit']:.0%} of the commit floor (body {result['body_bytes']:.0f} B)"
        "\n  inside the app (µs, median / mean): "
        + ", ".join(f"{k} {m:.0f} / {a:.0f}" for k, (m, a) in inside.items())
    )


def run_engine(engine: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """This tree's build, and with ``--against`` the other tree's beside it (each on its own
    scratch database), measured together; one result per build, this tree's first."""
    roots = [ROOT] + ([Path(args.against).resolve()] if args.against else [])
    names = ["cgt_bench_intake", "cgt_bench_intake_against"][: len(roots)]
    with ExitStack() as databases:
        urls = [databases.enter_context(scratch_db(engine, name)) for name in names]
        for root, url in zip(roots, urls, strict=True):
            _setup_in(root, url)
        with ExitStack() as servers:
            how = (args.server, args.workers, args.threads)
            bases = [
                servers.enter_context(serve(url, *how, root, phases=args.phases and n == 0))
                for n, (root, url) in enumerate(zip(roots, urls, strict=True))
            ]
            results = measure_builds(bases, args.requests, args.rounds, args.seed)
            phases = requests.get(f"{bases[0]}/bench/phases").json() if args.phases else None
            curve = (
                calibrate(bases[0], args.requests, args.rounds, args.seed) if args.calibrate else []
            )
        for n, (root, result) in enumerate(zip(roots, results, strict=True)):
            result["engine"] = f"{engine}, {root}" if n else engine
            print(_line(result["engine"], result), flush=True)
        if curve:
            print(calibration_table(curve, results[0]["inside"]), flush=True)
        if phases is not None:
            from .intake_phases import phase_table

            print(phase_table(phases), flush=True)
        if args.in_process:
            print(in_process(urls[0], args.in_process, args.seed), flush=True)
        if args.profile:
            print(profile(urls[0], args.profile, args.seed), flush=True)
    if args.ablate:
        from .intake_ablate import ablate

        names = [n.strip() for n in args.ablate.split(",") if n.strip()]
        print(ablate(engine, names, args.ablate_pairs, args.seed), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__)
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--requests", type=int, default=500, help="requests of each kind per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--server", choices=["gunicorn", "werkzeug"], default="gunicorn")
    p.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    p.add_argument(
        "--threads", type=int, default=4,
        help="gunicorn threads per worker (gthread, keeps the connection); 0: gunicorn's sync "
        "workers, a connection per request, as docs/operations.md deploys behind nginx",
    )  # fmt: skip
    p.add_argument("--profile", type=int, default=0, metavar="N", help="profile N intake requests")
    p.add_argument(
        "--in-process", type=int, default=0, metavar="N",
        help="also time N intake requests in process (test client, batches of 50)",
    )  # fmt: skip
    p.add_argument(
        "--calibrate", action="store_true",
        help="also measure routes that add 250…2000 µs of CPU work to the bare POST",
    )  # fmt: skip
    p.add_argument(
        "--against", metavar="DIR",
        help="also serve the source tree in DIR (a `git archive` copy or a worktree of another "
        "commit, same venv) at the same time, on its own database, each round alternating "
        "between the two: a before/after comparison (--calibrate, --in-process and --profile "
        "concern this tree only)",
    )  # fmt: skip
    p.add_argument(
        "--phases", action="store_true",
        help="also time each phase of a served report (thread CPU per phase; this tree only; "
        "the instrumentation adds ~1%% to the intake's time)",
    )  # fmt: skip
    p.add_argument(
        "--ablate", metavar="NAMES",
        help="also measure in process what pieces of the intake's work cost: the same reports "
        "with and without them (comma-separated: nothing, report-event, reporter-row, "
        "search-trigger, direct-args), in paired batches (bench/intake_ablate.py)",
    )  # fmt: skip
    p.add_argument("--ablate-pairs", type=int, default=40, metavar="N", help="pairs of batches")
    p.add_argument("--seed", type=int, default=20261116)
    args = p.parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    how = (
        "werkzeug threaded (a new connection per request)"
        if args.server == "werkzeug"
        else (f"gunicorn gthread {args.workers} worker(s) × {args.threads} threads")
        if args.threads
        else f"gunicorn sync, {args.workers} worker(s) (a connection per request)"
    )
    print(f"intake bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    print(
        f"  server: {how}; client: one requests.Session, sequential; "
        f"{args.rounds} rounds × {args.requests} requests of each kind",
        flush=True,
    )
    results = [r for e in engines for r in run_engine(e, args)]
    rows = [
        [
            r["engine"], round(r["rps"]["bare GET"]), round(r["rps"]["bare POST"]),
            round(r["rps"]["commit"]), round(r["rps"]["intake"]), f"{r['ratio_get']:.0%}",
            f"{r['ratio_post']:.0%}", f"{r['ratio_commit']:.0%}",
            "met" if min(r["ratio_get"], r["ratio_post"]) >= TARGET_RATIO else "MISSED",
        ]
        for r in results
    ]  # fmt: skip
    headers = ["engine", "bare GET req/s", "bare POST req/s", "one-row commit req/s",
               "intake req/s", "intake/GET", "intake/POST", "intake/commit",
               f"target ≥ {TARGET_RATIO:.0%}"]  # fmt: skip
    print("\n" + table(headers, rows))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve_werkzeug(int(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:]))
