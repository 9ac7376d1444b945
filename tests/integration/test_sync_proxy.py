"""10,000 mutations from nine phones over real HTTP, through a proxy that loses, duplicates,
delays, reorders and cuts requests and answers and kills the server mid-request; on SQLite
(one server process) and on PostgreSQL (three gunicorn workers). Nothing lost, nothing
doubled, every phone converged to its scope, and only the intended refusals need attention.

The fleet: four inspectors report problems with photos in their grid cells offline and add a
second photo to every fifth; three citizens report in the same cells and rate a report too
early; then the dispatcher registers and dispatches inspectors' cases, one register based on
an outdated version; then the sanitation department's handler accepts and handles them.
Each phase is recorded offline and synced by all phones at once through the proxy.
``CGT_SYNC_PROXY_MUTATIONS`` sets another total for a quick local run (default 10,000).

The same fleet runs with deferred pushes (docs/sync-protocol.md, rules D-*): the server only
receives each push into its inbox and its applier threads (one per worker; three processes
on PostgreSQL, taking clients with SKIP LOCKED) apply them behind; the server is killed with
rows in the inbox; the phones fetch the outcomes. ``flask cgt sync-inbox --apply`` runs as
one more applier at the end of each phase, so the result never waits on a thread's timing.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from server.models import Case, CaseEvent, CasePhoto
from server.models.sync import SyncClientRow, SyncReceipt
from server.services.demo import CITIZEN_PHONES, DEMO_PASSWORD, cell_center, demo_users
from sync.__main__ import png
from sync.case_mutations import ACTION, ATTACH_PHOTO, RATE, REPORT
from sync.http import HttpPhotoTransport

from .fault_proxy import Fault, FaultProxy
from .pg import scratch_database
from .sync_fleet import Phone, Plan, ServerProcess, fresh_pull, plan, sign_in, sync_all

TOTAL = int(os.environ.get("CGT_SYNC_PROXY_MUTATIONS", "10000"))
# Per engine: (gunicorn workers, threads per worker).
SHAPES = {"sqlite": (1, 8), "postgresql": (3, 4)}
MARK = "代理故障测试"
PHASE_S = 600.0  # a phase that has not converged by then has failed


@contextmanager
def database(engine: str, tmp_path: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
    else:
        with scratch_database("cgt_proxy") as url:
            yield url


def _points(inspector: str) -> list[tuple[float, float]]:
    cells = next(u.cells for u in demo_users() if u.login == inspector)
    return [cell_center(code) for code in cells]


class Fleet:
    def __init__(
        self, server: ServerProcess, proxy: FaultProxy, folder: Path, p: Plan, defer: bool
    ) -> None:
        self.server, self.proxy, self.plan = server, proxy, p
        self.rng = random.Random(2026)
        self.inspectors = [f"inspector{i + 1}" for i in range(p.inspectors)]
        logins = [*self.inspectors, *CITIZEN_PHONES[: p.citizens], "dispatcher1"]
        logins.append("handler_sanitation")
        self.defer = defer
        self.phones = {
            login: Phone.open(
                login, sign_in(server.base, login, DEMO_PASSWORD), folder, proxy.base, n, defer
            )
            for n, login in enumerate(logins)
        }
        self.photos = [self._upload(png((n * 40, 200, 90))) for n in range(3)]
        self.inspector_reports: list[str] = []
        self.reports: list[str] = []
        self.photo_rows = 0

    def _upload(self, blob: bytes) -> str:
        sha = hashlib.sha256(blob).hexdigest()
        photos = HttpPhotoTransport(self.server.base, self.phones["inspector1"].token)
        assert photos.offset(sha, len(blob), "image/png") == 0
        assert photos.put_chunk(sha, 0, blob) == len(blob)
        return sha

    def _point(self, inspector: str) -> tuple[float, float]:
        lat, lon = self.rng.choice(_points(inspector))
        return lat + self.rng.uniform(-2e-3, 2e-3), lon + self.rng.uniform(-4e-3, 4e-3)

    def _uuid(self) -> str:
        import uuid

        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _report(self, phone: Phone, inspector: str, photos: list[str], refusal: str = "") -> str:
        lat, lon = self._point(inspector)
        case_id = self._uuid()
        args = {"id": case_id, "category_code": "SJ0101", "lat": lat, "lon": lon}
        phone.record(REPORT, {**args, "description": MARK, "photos": photos}, refusal=refusal)
        if not refusal:
            self.reports.append(case_id)
        return case_id

    def record_reports(self) -> None:
        p = self.plan
        for inspector in self.inspectors:
            phone = self.phones[inspector]
            for n in range(1, p.inspector_reports + 1):
                case_id = self._report(phone, inspector, [self.photos[0]])
                self.inspector_reports.append(case_id)
                self.photo_rows += 1
                if n % p.attach_every == 0:
                    phone.record(ATTACH_PHOTO, {"case_id": case_id, "photos": [self.photos[1]]})
                    self.photo_rows += 1
                if n == p.inspector_reports // 2:  # an inspector's report needs a photo
                    self._report(phone, inspector, [], refusal="evidence_required")
        for phone_no in CITIZEN_PHONES[: p.citizens]:
            phone = self.phones[phone_no]
            first = ""
            for n in range(p.citizen_reports):
                case_id = self._report(phone, self.rng.choice(self.inspectors), [])
                first = first or case_id
                if n == p.citizen_reports // 2:  # too early: the case is not closed
                    phone.record(RATE, {"case_id": first, "stars": 5}, refusal="wrong_state")

    def record_desk_work(self) -> None:
        p, desk = self.plan, self.phones["dispatcher1"]
        targets = self.inspector_reports[: p.register]
        for n, case_id in enumerate(targets):
            version = desk.client.version_of("cases", case_id)
            assert version is not None, "the dispatcher's phone lacks a case it may see"
            desk.record(ACTION, {"case_id": case_id, "action": "register"}, version)
            if n == len(targets) // 2:  # based on a version the server no longer has
                stale = self.inspector_reports[-1]
                held = desk.client.version_of("cases", stale)
                assert held is not None
                desk.record(
                    ACTION, {"case_id": stale, "action": "register"}, held + 7,
                    refusal="version_conflict",
                )  # fmt: skip
        for case_id in targets[: p.dispatch]:
            desk.record(ACTION, {"case_id": case_id, "action": "dispatch"})

    def record_handling(self) -> None:
        p, handler = self.plan, self.phones["handler_sanitation"]
        targets = self.inspector_reports[: p.accept]
        for case_id in targets:
            version = handler.client.version_of("cases", case_id)
            assert version is not None, "the handler's phone lacks a dispatched case"
            handler.record(ACTION, {"case_id": case_id, "action": "accept"}, version)
        for case_id in targets[: p.handle]:
            args = {"case_id": case_id, "action": "handle", "photos": [self.photos[2]]}
            handler.record(ACTION, args)
            self.photo_rows += 1

    def sync(self, *only: str) -> None:
        phones = [self.phones[n] for n in only] if only else list(self.phones.values())
        if not self.defer:
            sync_all(phones, time.monotonic() + PHASE_S)
            return
        stop = threading.Event()

        def drains() -> None:  # "the applier runs now", interleaved with the phones' syncs
            while not stop.wait(2.0):
                self.server.drain()

        beside = threading.Thread(target=drains, name="drain")
        beside.start()
        try:
            sync_all(phones, time.monotonic() + PHASE_S)
        finally:
            stop.set()
            beside.join()


def _check_server(url: str, fleet: Fleet) -> None:
    p = fleet.plan
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            states = {
                s: n for s, n in conn.execute(select(Case.state, func.count()).group_by(Case.state))
            }
            ids = set(conn.scalars(select(Case.id)))
            events = {
                a: n
                for a, n in conn.execute(
                    select(CaseEvent.action, func.count()).group_by(CaseEvent.action)
                )
            }
            doubled = conn.execute(
                select(CaseEvent.case_id, CaseEvent.action)
                .group_by(CaseEvent.case_id, CaseEvent.action)
                .having(func.count() > 1)
            ).all()
            photo_rows = conn.scalar(select(func.count()).select_from(CasePhoto))
            receipts = {
                (r.client_id, r.seq): (r.status, r.code)
                for r in conn.execute(select(SyncReceipt.client_id, SyncReceipt.seq,
                                             SyncReceipt.status, SyncReceipt.code))
            }  # fmt: skip
            clients = select(SyncClientRow.client_id, SyncClientRow.last_seq)
            last_seq = {c: n for c, n in conn.execute(clients)}
    finally:
        engine.dispose()
    # Every intended action exactly once: each report one case, each step one event.
    assert ids == set(fleet.reports) and len(fleet.reports) == len(set(fleet.reports))
    assert doubled == []
    assert events == {
        "report": len(fleet.reports),
        "register": p.register,
        "dispatch": p.dispatch,
        "accept": p.accept,
        **({"handle": p.handle} if p.handle else {}),
    }
    assert states == {
        k: v
        for k, v in {
            "reported": len(fleet.reports) - p.register,
            "registered": p.register - p.dispatch,
            "dispatched": p.dispatch - p.accept,
            "handling": p.accept - p.handle,
            "handled": p.handle,
        }.items()
        if v
    }
    assert photo_rows == fleet.photo_rows
    # One receipt per mutation, refusals exactly where intended.
    assert len(receipts) == p.total == sum(ph.recorded for ph in fleet.phones.values())
    for phone in fleet.phones.values():
        cid = phone.client.client_id
        assert last_seq.get(cid, 0) == phone.recorded, phone.name
        mine = {seq: receipts[(cid, seq)] for seq in range(1, phone.recorded + 1)}
        refused = {seq: code for seq, (status, code) in mine.items() if status == "refused"}
        assert refused == phone.expected_refusals, phone.name
        assert {s for s, _ in mine.values()} <= {"applied", "refused"}


def _check_phones(fleet: Fleet) -> None:
    for phone in fleet.phones.values():
        counts = phone.client.counts()
        assert counts.waiting == 0 and counts.received == 0, phone.name
        attention = {e.seq: e.code for e in phone.client.needs_attention()}
        assert attention == phone.expected_refusals, phone.name
        held = phone.held()
        assert held == fresh_pull(fleet.server.base, phone.token), phone.name
        assert held, phone.name


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("defer", [False, True], ids=["applied", "deferred"])
@pytest.mark.parametrize("engine", list(SHAPES))
def test_ten_thousand_mutations_through_a_faulty_proxy(
    engine: str, defer: bool, tmp_path: Path
) -> None:
    started = time.monotonic()
    p = plan(TOTAL)
    workers, threads = SHAPES[engine]
    with database(engine, tmp_path) as url:
        server = ServerProcess(url, tmp_path / "server.log", workers=workers, threads=threads)
        server.migrate_and_load_city()
        server.start()
        rng = random.Random(7)
        proxy = FaultProxy(
            server.port, rng, rate=0.15, restart=server.restart, max_restarts=4, restart_gap=25.0
        )
        try:
            with proxy:
                fleet = Fleet(server, proxy, tmp_path, p, defer)
                fleet.record_reports()
                fleet.sync()
                fleet.sync("dispatcher1")  # now holding every case, to base edits on
                fleet.record_desk_work()
                fleet.sync()
                fleet.sync("handler_sanitation")
                fleet.record_handling()
                fleet.sync()
                proxy.drain()  # late copies still arrive: they must change nothing
                proxy.rate = 0.0
                fleet.sync()
            if defer:
                assert "0 mutations waiting" in server.drain()  # nothing left behind
            _check_server(url, fleet)
            _check_phones(fleet)
            # The network really misbehaved, in every way, and the server died mid-request.
            assert set(proxy.counts) == set(Fault), proxy.counts
            assert server.starts >= 2
        finally:
            server.stop()
            for phone in getattr(locals().get("fleet"), "phones", {}).values():
                phone.store.close()
        log = (tmp_path / "server.log").read_text(errors="replace")
        assert "Exception on /api/" not in log, log[-5000:]  # no 500 from the app
    print(
        f"\n{engine}{' deferred' if defer else ''}: {p.total} mutations, "
        f"faults {dict(Counter(proxy.counts))}, "
        f"{server.starts - 1} restarts, {time.monotonic() - started:.0f} s"
    )
