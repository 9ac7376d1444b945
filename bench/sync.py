"""Offline sync over real HTTP on loopback: push, first pull, the empty sync, device memory.

The real app runs under gunicorn (one gthread worker, 4 threads) in a child process, on a
file SQLite database (WAL, ``synchronous=NORMAL`` as ``server.db`` sets it) or on
PostgreSQL (default ``fsync``/``synchronous_commit``). The device is the engine's own
client: ``SyncClient`` on the phone's SQLite store (``sync.stores.sqlite_client``: WAL,
``synchronous=FULL``) with the ``requests`` transport (``sync.http``), batches of
``MAX_PUSH`` mutations and pages of ``MAX_PAGE`` changes.

- **push**: a citizen's phone records N reports offline (~300 bytes of arguments each), then
  one ``sync()`` sends them all and applies the answers; mutations/s = N / that sync.
  Target ≥ 15,000/s. ``--push-mode deferred`` (or ``both``, the default) does the same with
  deferred pushes (docs/sync-protocol.md, rules D-*), on a server of its own: the device
  pushes with ``defer`` in batches of ``MAX_DEFERRED``; the target's figure is N / the time
  until the server has durably received every mutation (``SyncClient.push``: all answered
  ``received``); beside it, the time from the same start until the server's applier thread
  has applied all N and the device has settled every outcome (it syncs every
  ``OUTCOME_POLL_S`` until none is left "sent").
- **pull**: a new phone's first sync of a scope of N records (generated in bulk with
  ``bench.sync_gen`` in the shape the server publishes); records/s. Target ≥ 20,000/s.
- **empty**: an inspector's sync when nothing new concerns them, at each server size (change
  rows; records are half as many): "behind" — 10% of the log was written for other grids
  since the phone's cursor (put back before each "behind" sync as a sync leaves it: written
  without fsync); "current" — the cursor is at the head. Every size has its own server, all
  up at once, and the timed syncs go round the sizes, so each size is measured in the same
  minutes (the machine's noise falls on all of them). Median ms per ``sync()``. Target
  ≤ 5 ms, and no slower at the largest size than at the smallest. ``--explain`` prints the
  plans of the pull's SQL at each size.
- **memory**: the peak resident memory (``VmHWM``) of a separate device process (client,
  ``requests`` and the SQLite store, nothing else imported) pulling N records, and the peak
  of Python's own allocations (``tracemalloc``) in a second run. Target < 200 MB.

``--profile N`` adds a cProfile of the push path in-process (test client, N mutations) and
the SQL statements per mutation.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import event, select

from sync import jsoncodec

from . import intake, sync_gen
from .common import machine, scratch_db, table

PUSH_TARGET = 15_000.0  # mutations/s
PULL_TARGET = 20_000.0  # records/s
EMPTY_TARGET_MS = 5.0
GROWTH_LIMIT = 1.2  # "no slower": within this machine's run-to-run noise
MEMORY_TARGET_MB = 200.0
INSPECTOR = "inspector1"
PULL_PHONE = "13800000002"
MEMORY_PHONE = "13800000003"
TEMPLATE_PHONE = "13900000001"
PROFILE_PHONE = "13900000002"  # one SMS code per phone per minute: each part signs in apart
ROOT = Path(__file__).resolve().parent.parent
PARTS = ("push", "pull", "empty", "memory")
PUSH_MODES = ("applied", "deferred", "both")
DEFERRED_PHONE = "13800000004"
OUTCOME_POLL_S = 0.25  # the device asks for the outcomes this often (the second figure)


# ---------------------------------------------------------------- sign-in and phones


def citizen_token(base: str, phone: str) -> str:
    r = requests.post(f"{base}/api/auth/otp", json={"phone": phone}, timeout=30)
    assert r.status_code == 202, r.text
    r = requests.post(
        f"{base}/api/auth/otp/verify",
        json={"phone": phone, "code": intake.OTP_CODE, "device_id": f"bench-{uuid.uuid4()}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def staff_token(base: str, username: str) -> str:
    from server.services.demo import DEMO_PASSWORD

    r = requests.post(
        f"{base}/api/auth/login",
        json={"username": username, "password": DEMO_PASSWORD, "device_id": "bench-sync"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def phone(base: str, token: str, folder: Path, defer: bool = False) -> Any:
    """A device: the engine's client on the phone's SQLite store, over requests."""
    from sync.case_mutations import registry
    from sync.client import SyncClient
    from sync.http import HttpTransport
    from sync.protocol import MAX_DEFERRED, MAX_PAGE, MAX_PUSH
    from sync.stores.sqlite_client import SqliteClientStore

    store = SqliteClientStore(folder / f"device-{uuid.uuid4().hex[:8]}.sqlite3")
    return SyncClient(
        store,
        HttpTransport(base, token),
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        batch_size=MAX_DEFERRED if defer else MAX_PUSH,
        page_limit=MAX_PAGE,
        prefetch=True,
        defer=defer,
    )


@contextmanager
def served(engine: str, name: str, keep: bool = False) -> Iterator[tuple[str, str]]:
    """A scratch database with the demo city, served over HTTP; yields (db url, base url)."""
    with scratch_db(engine, name, keep) as url:
        intake.setup_database(url)
        with intake.serve(url, "gunicorn", 1, 4) as base:
            yield url, base


def _engine(url: str) -> Any:
    from server.db import make_engine

    return make_engine(url)


def user_id(url: str, login: str) -> int:
    from server.models import User

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            who = (User.phone == login) | (User.username == login)
            uid = conn.scalar(select(User.id).where(who))
    finally:
        engine.dispose()
    assert uid is not None, login
    return int(uid)


# ---------------------------------------------------------------- push


def report_args(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct citizen reports, the intake bench's ~300-byte bodies."""
    return [json.loads(b) for b in intake.report_bodies(n, seed)]


def run_push(base: str, n: int, folder: Path, seed: int) -> dict[str, Any]:
    from sync.case_mutations import REPORT

    device = phone(base, citizen_token(base, intake.CITIZEN_PHONE), folder)
    assert device.sync().ok  # the catalogue first: the timed sync is the push
    bodies = report_args(n, seed)
    t0 = time.perf_counter()
    for args in bodies:
        device.record(REPORT, args)
    recorded = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcome = device.sync()
    elapsed = time.perf_counter() - t0
    counts = device.counts()
    assert outcome.ok and outcome.pushed == n, outcome
    assert counts.waiting == 0 and counts.needs_attention == 0, counts
    device.store.close()
    size = statistics.mean(len(json.dumps(b, ensure_ascii=False).encode()) for b in bodies)
    return {"n": n, "seconds": elapsed, "rate": n / elapsed, "record_rate": n / recorded,
            "bytes": size}  # fmt: skip


def run_deferred_push(base: str, n: int, folder: Path, seed: int) -> dict[str, Any]:
    """Deferred pushes: N / the time until all N are received (the target's figure), and
    the time from the same start until all are applied and their outcomes settled."""
    from sync.case_mutations import REPORT

    device = phone(base, citizen_token(base, DEFERRED_PHONE), folder, defer=True)
    assert device.sync().ok
    bodies = report_args(n, seed + 1)
    for args in bodies:
        device.record(REPORT, args)
    t0 = time.perf_counter()
    done, refused, received = device.push()
    t_received = time.perf_counter() - t0
    assert (done, refused, received) == (0, 0, n), (done, refused, received)
    polls = 0
    while True:
        outcome = device.sync()
        polls += 1
        counts = device.counts()
        if outcome.ok and counts.received == 0 and counts.waiting == 0:
            break
        assert time.perf_counter() - t0 < 600, counts
        time.sleep(OUTCOME_POLL_S)
    t_settled = time.perf_counter() - t0
    assert counts.needs_attention == 0 and counts.sent >= n, counts
    device.store.close()
    return {"n": n, "received_s": t_received, "rate": n / t_received,
            "settled_s": t_settled, "settled_rate": n / t_settled, "polls": polls}  # fmt: skip


def in_process_pushes(url: str, n: int, seed: int) -> tuple[Any, dict[str, str], list[Any]]:
    """The app on ``url`` with a test client, a citizen's auth header and ``n`` reports as
    push request bodies of ``MAX_PUSH`` mutations."""
    from sync.protocol import MAX_PUSH, Mutation, PushRequest

    app = intake.served_app_for(url)
    client = app.test_client()
    client.post("/api/auth/otp", json={"phone": PROFILE_PHONE})
    r = client.post(
        "/api/auth/otp/verify",
        json={"phone": PROFILE_PHONE, "code": intake.OTP_CODE, "device_id": "bench-prof"},
    )
    auth = {"Authorization": f"Bearer {r.json['access_token']}"}
    cid = f"bench-profile-{uuid.uuid4().hex[:8]}"
    bodies = report_args(n, seed)
    batches = [
        PushRequest(
            cid,
            tuple(
                Mutation(cid, i + 1, "report_case.v1", bodies[i])
                for i in range(b, min(b + MAX_PUSH, n))
            ),
        ).to_json()
        for b in range(0, n, MAX_PUSH)
    ]
    return client, auth, batches


def profile_push(url: str, n: int, seed: int) -> str:
    """cProfile of ``n`` report mutations pushed through the test client, SQL per mutation."""
    from server import shutdown
    from server.db import database
    from sync.protocol import MAX_PUSH

    client, auth, batches = in_process_pushes(url, n, seed + 7)
    app = client.application
    statements: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements[statement.split()[0] + " " + intake._table_of(statement)] += 1

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", count)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for body in batches:
        resp = client.post("/api/sync/push", json=body, headers=auth)
        assert resp.status_code == 200, resp.json
        assert {x["status"] for x in resp.json["results"]} == {"applied"}, resp.json
    prof.disable()
    elapsed = time.perf_counter() - t0
    event.remove(engine, "before_cursor_execute", count)
    out = io.StringIO()
    out.write(
        f"in-process push (test client, batches of {MAX_PUSH}): {elapsed / n * 1000:.2f} ms "
        f"per mutation under cProfile; SQL statements per mutation: "
        f"{sum(statements.values()) / n:.1f}\n"
    )
    for stmt, k in statements.most_common():
        out.write(f"  {k / n:5.2f}× {stmt}\n")
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(50)
    stats.sort_stats("tottime").print_stats(25)
    shutdown(app)
    return out.getvalue()


# ---------------------------------------------------------------- generated scopes

_STREETS = ("光明路", "建设路", "中兴路", "开源路", "凌云路", "矿工路")


def template(base: str, url: str, folder: Path) -> dict[str, Any]:
    """A real published ``my_reports`` record: one report pushed through the API."""
    from sync.case_mutations import REPORT

    device = phone(base, citizen_token(base, TEMPLATE_PHONE), folder)  # a shop owner reports
    device.record(REPORT, report_args(1, 99)[0])
    assert device.sync().ok
    record = next(iter(device.all("my_reports").values()))
    device.store.close()
    return dict(record)


def scope_data(tpl: dict[str, Any]) -> Any:
    def data(i: int, rid: str) -> dict[str, Any]:
        return {
            **tpl,
            "id": rid,
            "case_no": f"B{i:09d}",
            "address": f"{_STREETS[i % len(_STREETS)]}{i % 300 + 1}号门口",
        }

    return data


def seed_scope(url: str, n: int, audience: list[str], tpl: dict[str, Any], seed: int) -> None:
    engine = _engine(url)
    try:
        sync_gen.append(
            engine, n, collection="my_reports", audience=lambda i: audience,
            data=scope_data(tpl), now=datetime.now(UTC), seed=seed,
        )  # fmt: skip
        sync_gen.analyze(engine)
    finally:
        engine.dispose()


def children_cpu() -> float:
    """CPU seconds (user + system) of every live process below this one: the server's."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            procs[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    me = os.getpid()

    def below(pid: int) -> bool:
        while pid > 1:
            pid = procs.get(pid, (0, 0.0))[0]
            if pid == me:
                return True
        return False

    return sum(cpu for pid, (_, cpu) in procs.items() if below(pid))


def run_pull(
    base: str, url: str, n: int, tpl: dict[str, Any], folder: Path, repeats: int = 1
) -> dict[str, Any]:
    """First pulls of the scope by ``repeats`` new phones, one after the other: the median
    rate, the best, and the CPU per record of the device (this process, prefetch thread
    included) and of the server (its processes)."""
    seed_scope(url, n, [f"user:{user_id(url, PULL_PHONE)}"], tpl, seed=2)
    token = citizen_token(base, PULL_PHONE)
    runs = []
    for _ in range(repeats):
        device = phone(base, token, folder)
        server0, cpu0, t0 = children_cpu(), time.process_time(), time.perf_counter()
        outcome = device.sync()
        elapsed = time.perf_counter() - t0
        device_cpu, server_cpu = time.process_time() - cpu0, children_cpu() - server0
        assert outcome.ok, outcome
        held = len(device.all("my_reports"))
        assert held == n, (held, n)
        device.store.close()
        k = outcome.pulled
        runs.append((k / elapsed, elapsed, device_cpu / k * 1e6, server_cpu / k * 1e6))
    runs.sort()
    rate, elapsed, device_us, server_us = runs[len(runs) // 2]
    return {"n": k, "seconds": elapsed, "rate": rate,
            "best": runs[-1][0], "repeats": repeats, "device_us": device_us,
            "server_us": server_us, "json": "orjson" if jsoncodec.fast() else "json"}  # fmt: skip


# ---------------------------------------------------------------- device memory


def run_memory(base: str, url: str, n: int, tpl: dict[str, Any], folder: Path) -> dict[str, Any]:
    seed_scope(url, n, [f"user:{user_id(url, MEMORY_PHONE)}"], tpl, seed=3)
    token = citizen_token(base, MEMORY_PHONE)
    out: dict[str, Any] = {"n": n}
    for traced in (False, True):
        cmd = [sys.executable, "-m", "bench.sync_device", base, token, str(folder)]
        done = subprocess.run(
            cmd + (["--tracemalloc"] if traced else []),
            cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["held"] == n, result
        if traced:
            out["tracemalloc_mb"] = result["tracemalloc_peak_mb"]
        else:
            out.update(
                rss_mb=result["rss_peak_mb"], base_mb=result["rss_base_mb"],
                seconds=result["seconds"], modules=result["modules"],
            )  # fmt: skip
    return out


# ---------------------------------------------------------------- the empty sync


@dataclass
class EmptyResult:
    size: int
    behind_ms: float
    current_ms: float
    plans: str


def _others(inspector_cells: set[str], cells: list[str]) -> Any:
    others = [c for c in cells if c not in inspector_cells]

    def audience(i: int) -> list[str]:
        tags = ["role:dispatcher", f"grid:{others[i % len(others)]}"]
        if i % 3 == 0:
            tags.append(f"dept:{i % 7 + 1}")
        if i % 5 == 0:
            tags.append(f"user:{1000 + i % 5000}")
        return tags

    return audience


def _grid(url: str) -> tuple[list[str], set[str], int]:
    from server.models import GridCell

    uid = user_id(url, INSPECTOR)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            cells = list(conn.scalars(select(GridCell.code).order_by(GridCell.code)))
            mine = set(conn.scalars(select(GridCell.code).where(GridCell.inspector_id == uid)))
    finally:
        engine.dispose()
    return cells, mine, uid


def _small(i: int, rid: str) -> dict[str, Any]:
    return {"id": rid, "case_no": f"G{i:09d}", "state": "closed", "category_code": "SJ0101",
            "address": f"{_STREETS[i % 6]}{i % 300 + 1}号", "description": "路边垃圾已清运",
            "lat": 33.75 + (i % 1000) * 1e-5, "lon": 113.15 + (i % 997) * 1e-5,
            "updated_at": "2026-11-16T09:00:00+00:00"}  # fmt: skip


def _plans(url: str, uid: int, mine: set[str], cursor: str, client_id: str) -> str:
    """The database's plans for the SQL of one pull at this cursor (what the server runs)."""
    from server.db import Database
    from server.sync_store import SqlServerStore
    from sync.protocol import PullRequest
    from sync.server import pull
    from sync.server_store import Peer

    tags = frozenset({f"user:{uid}", "public", *(f"grid:{c}" for c in mine)})
    db = Database(url)
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cur: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    page = pull(SqlServerStore(db.factory), PullRequest(client_id, cursor, 500), Peer("x", tags))
    event.remove(db.engine, "before_cursor_execute", grab)
    assert not page.changes and not page.reset, page
    sqlite = db.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    lines = []
    with db.engine.connect() as conn:
        for statement, params in seen:
            if "sync_changes" not in statement and "sync_change_tags" not in statement:
                continue
            rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
            lines.append(" ".join(statement.split()))
            lines += ["    " + str(r[-1]) for r in rows]
    db.dispose()
    return "\n".join(lines)


@dataclass
class EmptySetup:
    """One server size ready for the empty sync: an inspector's phone that has pulled, and
    the cursor it had before 10% more of the log (none of it in its scope) was written."""

    size: int
    url: str
    uid: int
    mine: set[str]
    device: Any
    behind: str


def setup_empty(url: str, base: str, size: int, folder: Path) -> EmptySetup:
    cells, mine, uid = _grid(url)
    db = _engine(url)
    now = datetime.now(UTC)
    try:
        # ~100 records the inspector may see, then 90% of the log for other grids
        mine_list = sorted(mine)
        sync_gen.append(
            db, 100, collection="cases", now=now, seed=11, data=_small,
            audience=lambda i: ["role:dispatcher", f"grid:{mine_list[i % len(mine_list)]}"],
        )  # fmt: skip
        others = _others(mine, cells)
        sync_gen.append(db, int(size * 0.9) // 2, collection="cases", audience=others,
                        data=_small, now=now, versions=2, seed=12)  # fmt: skip
        sync_gen.analyze(db)
        device = phone(base, staff_token(base, INSPECTOR), folder)
        assert device.sync().ok
        with device.store.transaction() as tx:
            behind = tx.get_meta("cursor")
        sync_gen.append(db, int(size * 0.1) // 2, collection="cases", audience=others,
                        data=_small, now=now, versions=2, seed=13)  # fmt: skip
        sync_gen.analyze(db)
    finally:
        db.dispose()
    assert behind
    return EmptySetup(size, url, uid, mine, device, behind)


def empty_sync_ms(setup: EmptySetup, behind: bool) -> float:
    """One timed ``sync()`` that finds nothing: "behind" starts from the old cursor, put
    back as the phone's last sync would have left it (a page's cursor, not fsynced)."""
    device = setup.device
    if behind:
        with device.store.transaction(durable=False) as tx:
            tx.set_meta("cursor", setup.behind)
    t0 = time.perf_counter()
    outcome = device.sync()
    ms = (time.perf_counter() - t0) * 1000
    assert outcome.ok and outcome.pulled == 0, outcome
    return ms


def run_empty(engine: str, sizes: list[int], repeats: int, folder: Path) -> list[EmptyResult]:
    """Every size served at once; the timed syncs go round the sizes (behind and current at
    each, taking turns to go first: the first request a server gets after the others' turn
    is the slower), so all sizes are measured in the same minutes of a noisy machine."""
    with ExitStack() as stack:
        setups = []
        for size in sizes:
            url, base = stack.enter_context(served(engine, f"cgt_bench_sync_{size}"))
            setups.append(setup_empty(url, base, size, folder))
        samples: dict[tuple[int, bool], list[float]] = {}
        for n in range(repeats + 3):
            for st in setups:
                for behind in (n % 2 == 0, n % 2 == 1):  # each goes first every other round
                    ms = empty_sync_ms(st, behind)
                    if n >= 3:  # the first rounds warm connections and caches
                        samples.setdefault((st.size, behind), []).append(ms)
        results = []
        for st in setups:
            plans = _plans(st.url, st.uid, st.mine, st.behind, st.device.client_id)
            st.device.store.close()
            results.append(
                EmptyResult(
                    st.size,
                    statistics.median(samples[(st.size, True)]),
                    statistics.median(samples[(st.size, False)]),
                    plans,
                )
            )
    return results


# ---------------------------------------------------------------- main


def run_engine(engine: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": engine}
    parts = set(args.parts.split(","))
    if "push" in parts and args.push_mode in ("deferred", "both"):
        with served(engine, "cgt_bench_sync_deferred") as (url, base):
            out["deferred"] = r = run_deferred_push(base, args.push, folder, args.seed)
            print(f"  {engine} deferred push: {r['n']} reports received in "
                  f"{r['received_s']:.2f} s = {r['rate']:.0f} mutations/s; all applied and "
                  f"their outcomes on the device after {r['settled_s']:.2f} s = "
                  f"{r['settled_rate']:.0f}/s ({r['polls']} syncs)", flush=True)  # fmt: skip
    if parts & {"push", "pull", "memory"}:
        with served(engine, "cgt_bench_sync") as (url, base):
            if "push" in parts and args.push_mode in ("applied", "both"):
                out["push"] = r = run_push(base, args.push, folder, args.seed)
                print(f"  {engine} push: {r['n']} reports (~{r['bytes']:.0f} B) in "
                      f"{r['seconds']:.2f} s = {r['rate']:.0f} mutations/s "
                      f"(recording offline: {r['record_rate']:.0f}/s)", flush=True)  # fmt: skip
            if args.profile:
                print(profile_push(url, args.profile, args.seed), flush=True)
            tpl = template(base, url, folder) if parts & {"pull", "memory"} else {}
            if "pull" in parts:
                out["pull"] = r = run_pull(base, url, args.pull, tpl, folder, args.pull_repeats)
                print(f"  {engine} first pull: {r['n']} records in {r['seconds']:.2f} s = "
                      f"{r['rate']:.0f} records/s (median of {r['repeats']}, best "
                      f"{r['best']:.0f}/s; CPU per record: device {r['device_us']:.1f} µs, "
                      f"server {r['server_us']:.1f} µs; device JSON: {r['json']})",
                      flush=True)  # fmt: skip
            if "memory" in parts:
                out["memory"] = r = run_memory(base, url, args.memory, tpl, folder)
                print(f"  {engine} device memory pulling {r['n']} records: peak RSS "
                      f"{r['rss_mb']:.1f} MB (after imports {r['base_mb']:.1f} MB), Python "
                      f"allocations peak {r['tracemalloc_mb']:.1f} MB, {r['seconds']:.1f} s",
                      flush=True)  # fmt: skip
    if "empty" in parts:
        sizes = [int(s) for s in args.sizes.split(",")]
        out["empty"] = run_empty(engine, sizes, args.repeats, folder)
        for r in out["empty"]:
            print(f"  {engine} empty sync at {r.size:,} change rows: behind {r.behind_ms:.2f} "
                  f"ms, current {r.current_ms:.2f} ms", flush=True)  # fmt: skip
            if args.explain:
                print("    " + r.plans.replace("\n", "\n    "), flush=True)
    return out


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def report(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        e = r["engine"]
        if "push" in r:
            p = r["push"]
            rows.append([e, f"push {p['n']:,} offline reports", f"{p['rate']:.0f} mutations/s",
                         f"≥ {PUSH_TARGET:,.0f}", _verdict(p["rate"] >= PUSH_TARGET)])  # fmt: skip
        if "deferred" in r:
            p = r["deferred"]
            rows.append([e, f"push {p['n']:,} offline reports, deferred: received",
                         f"{p['rate']:.0f} mutations/s", f"≥ {PUSH_TARGET:,.0f}",
                         _verdict(p["rate"] >= PUSH_TARGET)])  # fmt: skip
            rows.append([e, "… until all applied and settled on the device",
                         f"{p['settled_rate']:.0f} mutations/s ({p['settled_s']:.1f} s)",
                         "(shown beside)", ""])  # fmt: skip
        if "pull" in r:
            p = r["pull"]
            rows.append([e, f"first pull of {p['n']:,} records", f"{p['rate']:.0f} records/s",
                         f"≥ {PULL_TARGET:,.0f}", _verdict(p["rate"] >= PULL_TARGET)])  # fmt: skip
        for x in r.get("empty", []):
            worst = max(x.behind_ms, x.current_ms)
            rows.append([e, f"empty sync at {x.size:,} rows (behind / current)",
                         f"{x.behind_ms:.2f} / {x.current_ms:.2f} ms", f"≤ {EMPTY_TARGET_MS} ms",
                         _verdict(worst <= EMPTY_TARGET_MS)])  # fmt: skip
        if len(r.get("empty", [])) > 1:
            first, last = r["empty"][0], r["empty"][-1]
            growth = last.behind_ms / first.behind_ms
            rows.append([e, f"empty sync {last.size:,} vs {first.size:,} rows (behind)",
                         f"{growth:.2f}×", f"no slower (≤ {GROWTH_LIMIT}×)",
                         _verdict(growth <= GROWTH_LIMIT)])  # fmt: skip
        if "memory" in r:
            m = r["memory"]
            rows.append([e, f"device peak RSS pulling {m['n']:,} records",
                         f"{m['rss_mb']:.1f} MB (Python heap {m['tracemalloc_mb']:.1f} MB)",
                         f"< {MEMORY_TARGET_MB:.0f} MB",
                         _verdict(m["rss_mb"] < MEMORY_TARGET_MB)])  # fmt: skip
    return table(["engine", "what", "measured", "target", "verdict"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench sync", description=__doc__)
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--parts", default=",".join(PARTS), help="comma list of " + ", ".join(PARTS))
    p.add_argument("--push", type=int, default=10_000, help="reports pushed")
    p.add_argument("--push-mode", choices=PUSH_MODES, default="both",
                   help="push applied in the request, deferred (received, applied behind), "
                        "or both")  # fmt: skip
    p.add_argument("--pull", type=int, default=10_000, help="records in the pulled scope")
    p.add_argument("--pull-repeats", type=int, default=1, help="first pulls timed (median)")
    p.add_argument("--sizes", default="1000,1000000", help="server change rows, empty sync")
    p.add_argument("--memory", type=int, default=100_000, help="records pulled, memory part")
    p.add_argument("--repeats", type=int, default=200, help="empty syncs timed per size")
    p.add_argument("--explain", action="store_true", help="print the empty pull's query plans")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="profile N pushes")
    p.add_argument("--seed", type=int, default=20261121)
    args = p.parse_args(argv)
    unknown = set(args.parts.split(",")) - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    print(f"sync bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    print("  server: gunicorn gthread 1 worker × 4 threads; device: SyncClient + SQLite store "
          "(synchronous=FULL) + requests, batches of 100 (deferred: 1,000), pages of 500",
          flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cgt-bench-sync-") as tmp:
        results = [run_engine(e, args, Path(tmp)) for e in engines]
    print("\n" + report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
