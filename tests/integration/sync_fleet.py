"""A fleet of simulated phones syncing with real server processes through the fault proxy.

Pieces of ``test_sync_proxy.py``: a gunicorn server that can be killed and started again on
the same port (:class:`ServerProcess`), signing in over HTTP, devices with their own SQLite
store and ``requests`` transport (:class:`Phone`), the plan of who records what offline
(:func:`plan`), and the syncing of all phones at once until their outboxes are empty
(:func:`sync_all`).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from sync.case_mutations import registry
from sync.client import SyncClient
from sync.http import HttpTransport
from sync.protocol import PullRequest
from sync.stores.sqlite_client import SqliteClientStore

from .servers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OTP_CODE = "135790"


class ServerProcess:
    """The app under gunicorn in its own process group, killable at any instant."""

    def __init__(self, url: str, log: Path, *, workers: int, threads: int) -> None:
        self.url = url
        self.log = log
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "CGT_PHOTO_DIR": str(log.parent / "photos"),
            "CGT_SECRET_KEY": "proxy-test",
            "CGT_OTP_FIXED_CODE": OTP_CODE,
            "CGT_ARGON2_TIME_COST": "1",
            "CGT_ARGON2_MEMORY_COST": "1024",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def migrate_and_load_city(self) -> None:
        flask = [str(BIN / "flask"), "--app", "server", "cgt"]
        for command in (["db-upgrade"], ["load-demo-city"]):
            subprocess.run(
                flask + command, cwd=ROOT, env=self.env, check=True, capture_output=True,
                timeout=120,
            )  # fmt: skip

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "gunicorn"), "-w", str(self.workers), "-k", "gthread",
                    "--threads", str(self.threads), "-b", f"127.0.0.1:{self.port}",
                    "--graceful-timeout", "5", "--timeout", "120", "server.wsgi:app",
                ],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the kill takes the workers too
            )  # fmt: skip
        self.starts += 1
        wait_until_serving(self.base, self.proc, time.monotonic() + 60)

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: whatever was in flight is cut."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def restart(self) -> None:
        self.kill()
        self.start()

    def drain(self) -> str:
        """Apply the sync inbox now (``flask cgt sync-inbox --apply``), beside the server's
        own applier threads: rows a killed process left, and the final word."""
        flask = [str(BIN / "flask"), "--app", "server", "cgt", "sync-inbox", "--apply"]
        done = subprocess.run(
            flask, cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=300
        )
        return done.stdout.decode()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


def sign_in(base: str, login: str, password: str) -> str:
    """A bearer token for a demo user: staff by password, citizens by the fixed SMS code."""
    device = f"proxy-{uuid.uuid4()}"
    if login.isdigit():
        sent = requests.post(f"{base}/api/auth/otp", json={"phone": login}, timeout=30)
        assert sent.status_code == 202, sent.text
        resp = requests.post(
            f"{base}/api/auth/otp/verify",
            json={"phone": login, "code": OTP_CODE, "device_id": device},
            timeout=30,
        )
    else:
        resp = requests.post(
            f"{base}/api/auth/login",
            json={"username": login, "password": password, "device_id": device},
            timeout=30,
        )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


@dataclass
class Phone:
    """One installation: a SQLite device store, a sync client talking through the proxy."""

    name: str
    token: str
    store: SqliteClientStore
    client: SyncClient
    recorded: int = 0
    expected_refusals: dict[int, str] = field(default_factory=dict)  # seq -> reason code
    attempts: int = 0

    @classmethod
    def open(
        cls, name: str, token: str, folder: Path, proxy_base: str, seed: int, defer: bool = False
    ) -> Phone:
        store = SqliteClientStore(folder / f"{name}.sqlite3")
        rng = random.Random(seed)
        client = SyncClient(
            store,
            HttpTransport(proxy_base, token, timeout=(5.0, 60.0)),
            registry(),
            lambda: datetime.now(UTC),
            lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            batch_size=100,
            page_limit=500,
            defer=defer,
        )
        return cls(name, token, store, client)

    def record(
        self, name: str, args: dict[str, Any], base: int | None = None, refusal: str = ""
    ) -> None:
        entry = self.client.record(name, args, base)
        self.recorded += 1
        assert entry.seq == self.recorded
        if refusal:
            self.expected_refusals[entry.seq] = refusal

    def held(self) -> dict[tuple[str, str], tuple[int, Any]]:
        """What the device store holds from the server: live records with their versions."""
        out: dict[tuple[str, str], tuple[int, Any]] = {}
        with self.store.transaction() as tx:
            for collection in tx.collections():
                for r in tx.records(collection):
                    if r.data is not None:
                        out[(collection, r.id)] = (r.version, r.data)
        return out


def fresh_pull(base: str, token: str) -> dict[tuple[str, str], tuple[int, Any]]:
    """Everything the user may see, pulled from the beginning by a new client, no faults."""
    transport = HttpTransport(base, token)
    client_id = f"fresh-{uuid.uuid4()}"
    cursor, out = "", {}
    while True:
        page = transport.pull(PullRequest(client_id, cursor, 500))
        for c in page.changes:
            if c.data is None:
                out.pop((c.collection, c.id), None)
            else:
                out[(c.collection, c.id)] = (c.version, c.data)
        cursor = page.cursor
        if not page.has_more:
            return out


def sync_all(phones: list[Phone], deadline: float) -> None:
    """Every phone syncs on its own thread until its outbox is empty (nothing waiting, and
    with deferred pushes nothing sent and undecided) and a sync succeeded."""
    errors: list[BaseException] = []

    def run(phone: Phone, seed: int) -> None:
        rng = random.Random(seed)
        try:
            while time.monotonic() < deadline:
                phone.attempts += 1
                report = phone.client.sync()
                counts = phone.client.counts()
                if report.ok and counts.waiting == 0 and counts.received == 0:
                    return
                if not report.ok and report.error != "transport":
                    raise AssertionError(f"{phone.name}: sync failed with {report.error}")
                time.sleep(rng.uniform(0.01, 0.1) if report.ok else rng.uniform(0.05, 0.3))
            raise AssertionError(f"{phone.name}: still {phone.client.counts()} at the deadline")
        except BaseException as error:  # reported by the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p, i), name=p.name) for i, p in enumerate(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@dataclass(frozen=True)
class Plan:
    """How many mutations of each kind the fleet records, adding up to ``total``."""

    inspectors: int  # devices
    inspector_reports: int  # each, with a photo
    attach_every: int  # an attach_photo.v1 after every n-th report
    citizens: int
    citizen_reports: int  # each, no photo
    register: int  # dispatcher: case_action.v1 register (with base_version)
    dispatch: int
    accept: int  # handler: case_action.v1 accept (with base_version)
    handle: int  # with a photo

    @property
    def refusals(self) -> int:
        # as the fleet records them: one report without a photo by every inspector with two
        # reports or more (in the middle of them), one early rating by every citizen who
        # reports, one register on an outdated version by the dispatcher if it registers
        return (
            (self.inspectors if self.inspector_reports >= 2 else 0)
            + (self.citizens if self.citizen_reports else 0)
            + (1 if self.register else 0)
        )

    @property
    def total(self) -> int:
        attach = self.inspector_reports // self.attach_every
        return (
            self.inspectors * (self.inspector_reports + attach)
            + self.citizens * self.citizen_reports
            + self.register
            + self.dispatch
            + self.accept
            + self.handle
            + self.refusals
        )


ATTACH_EVERY = 5
SHARES = {"inspector": 1500, "citizen": 300, "register": 700, "dispatch": 500, "accept": 400}


def plan(total: int) -> Plan:
    """A plan of exactly ``total`` mutations (any total of 1 or more), in the proportions of
    10,000 as far as whole phones and reports allow.

    Reports come in lumps (an inspector's count is recorded by every inspector's phone, with
    an attach every fifth and a refusal), so they are sized first, at their share rounded
    down; the desk's and the handler's steps, one mutation each, then take exactly what is
    left, each acting on cases the step before produced. Rounding every share on its own, as
    an earlier version did, could leave less than nothing for them (or more than they can
    take) below ~500. The largest fleet that fits is used: four inspectors and three
    citizens down to one inspector; and if it can, every step gets some work (register,
    dispatch and accept at least once), which the proxy test's checks expect.
    """
    if total < 1:
        raise ValueError(f"no plan of {total} mutations")
    for every_step in (True, False):
        for inspectors in range(4, 0, -1):
            for citizens in range(3, -1, -1):
                p = _fitting(total, inspectors, citizens, every_step)
                if p is not None:
                    return p
    raise AssertionError(f"no plan of {total} mutations")  # cannot happen: 1 inspector fits


def _share(kind: str, total: int) -> int:
    return SHARES[kind] * total // 10_000


def _fitting(total: int, inspectors: int, citizens: int, every_step: bool) -> Plan | None:
    """The plan of ``total`` with this fleet: inspectors' reports from their share up until
    the steps can take the rest; None if none fits."""
    citizen_reports = max(1, _share("citizen", total)) if citizens else 0
    for reports in range(max(1, _share("inspector", total)), total + 1):
        lumps = Plan(inspectors, reports, ATTACH_EVERY, citizens, citizen_reports, 0, 0, 0, 0)
        rest = total - lumps.total
        if rest < 0:
            return None
        # rest: the dispatcher's refused register, then register ≥ dispatch ≥ accept ≥
        # handle, no more registers than the inspectors' cases
        if rest == 0 and not every_step:
            return lumps
        steps = rest - 1
        if (3 if every_step else 1) <= steps <= 4 * inspectors * reports:
            r, d, a, h = _chain(steps, inspectors * reports, total, every_step)
            return replace(lumps, register=r, dispatch=d, accept=a, handle=h)
    return None


def _chain(n: int, cases: int, total: int, every_step: bool) -> tuple[int, int, int, int]:
    """``n`` (≤ 4 × cases) steps as register ≥ dispatch ≥ accept ≥ handle, near their shares:
    each step takes at least an even part of what is left, so the ones after it fit, and
    (``every_step``) leaves one for each of the steps after it but handle."""
    keep = 1 if every_step else 0
    register = min(cases, n - 2 * keep, max(-(-n // 4), _share("register", total)))
    left = n - register
    dispatch = min(register, left - keep, max(-(-left // 3), _share("dispatch", total)))
    left -= dispatch
    accept = min(dispatch, left, max(-(-left // 2), _share("accept", total)))
    return register, dispatch, accept, left - accept
