"""End to end: a device (SQLite store) syncing with a real server process over HTTP,
through a transport that loses, duplicates, delays and cuts requests: 500 reports with
photos, each applied exactly once, nothing lost and nothing doubled."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select

from server.models import Case
from sync.case_mutations import REPORT, registry
from sync.client import SyncClient
from sync.http import HttpPhotoTransport, HttpTransport
from sync.photos import PhotoQueue
from sync.stores.sqlite_client import SqliteClientStore
from sync.testkit import Fault, FaultyTransport
from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT

REPORTS = 500
MARK = "e2e 同步测试"


def _png(n: int) -> bytes:
    from sync.__main__ import png

    return png((n, 255 - n, 99))


def test_hundreds_of_offline_reports_survive_a_faulty_network(
    server: str, db_url: str, tmp_path: Path
) -> None:
    resp = requests.post(
        server + "/api/auth/login",
        json={"username": INSPECTOR, "password": DEMO_PASSWORD, "device_id": "e2e"},
        timeout=10,
    )
    token = resp.json()["access_token"]
    store = SqliteClientStore(tmp_path / "device.sqlite3")
    rng = random.Random(2026)
    blobs = {n: _png(n) for n in range(4)}
    shas = {n: __import__("hashlib").sha256(b).hexdigest() for n, b in blobs.items()}
    by_sha = {shas[n]: blobs[n] for n in blobs}
    photos = PhotoQueue(
        store,
        HttpPhotoTransport(server, token),
        lambda sha, offset, size: by_sha[sha][offset : offset + size],
        lambda: datetime.now(UTC),
        rng,
    )
    faults = [f for f in Fault if f not in (Fault.SERVER_RESTART, Fault.KILL_APP)]
    network = FaultyTransport(HttpTransport(server, token), rng, rate=0.3, faults=faults)  # type: ignore[arg-type]
    device = SyncClient(
        store,
        network,
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        photos=photos,
        batch_size=10,
    )
    for n, sha in shas.items():
        photos.add(sha, len(blobs[n]), "image/png")
    lat, lon = INSPECTOR_POINT
    ids = []
    for i in range(REPORTS):
        ids.append(str(uuid.uuid4()))
        args = {"id": ids[-1], "category_code": "SJ0101", "lat": lat, "lon": lon}
        device.record(REPORT, {**args, "description": MARK, "photos": [shas[i % 4]]})
    for _ in range(300):
        device.sync()
        if device.counts().waiting == 0 and not network.held:
            break
    network.rate = 0.0
    network.deliver_held()  # late copies still arrive: they must change nothing
    assert device.sync().ok
    assert device.counts().waiting == 0 and device.needs_attention() == []
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.scalars(select(Case.id).where(Case.description == MARK)).all()
            assert conn.scalar(select(func.count()).select_from(Case)) == REPORTS
    finally:
        engine.dispose()
    assert sorted(stored) == sorted(ids)  # nothing lost, nothing doubled
    mine = device.all("my_reports")
    assert set(mine) == set(ids) and {r["state"] for r in mine.values()} == {"reported"}
    assert set(device.all("cases")) == set(ids)  # the inspector's grid view as well
    assert len(network.log) >= 10  # the network really misbehaved
    store.close()
