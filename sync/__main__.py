"""``python -m sync``: play an inspector's device against a server over HTTP.

    python -m sync --base http://127.0.0.1:5000 --user inspector1 --password … \\
        report --count 50 --photos

records ``count`` reports offline in a local SQLite device store (with a small unique photo
each when ``--photos``), then syncs: photos first, then the outbox, then the pull, and prints
how many mutations were applied, duplicate or refused, and how long each part took.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

from .case_mutations import REPORT, registry
from .client import SyncClient, Transport
from .errors import SyncError
from .protocol import (
    PROTOCOL_VERSION,
    OutcomesRequest,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
)

# The demo city (docs/city-data.md): the centre of inspector1's grid cell 410402001001001.
DEMO_POINT = (33.758125, 113.1575)


def png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A small one-colour PNG, made with the standard library only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


class Counting:
    """Wraps a transport and counts the answers per status."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.statuses: Counter[str] = Counter()

    def push(self, request: PushRequest) -> PushResponse:
        response = self.inner.push(request)
        self.statuses.update(r.status.value for r in response.results)
        return response

    def pull(self, request: PullRequest) -> PullPage:
        return self.inner.pull(request)

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        response = self.inner.outcomes(request)
        self.statuses.update(r.status.value for r in response.results if r.status.value
                             != "received")  # fmt: skip
        return response


def login(base: str, user: str, password: str) -> str:
    import requests

    try:
        resp = requests.post(
            base.rstrip("/") + "/api/auth/login",
            json={"username": user, "password": password, "device_id": f"cli-{uuid.uuid4()}"},
            timeout=(5, 30),
        )
    except requests.RequestException as error:
        raise SystemExit(f"cannot reach {base}: {error}") from None
    if resp.status_code != 200:
        raise SystemExit(f"sign-in failed: HTTP {resp.status_code} {resp.text[:200]}")
    return str(resp.json()["access_token"])


def report(args: argparse.Namespace) -> int:
    from .http import HttpPhotoTransport, HttpTransport
    from .photos import PhotoQueue
    from .stores.sqlite_client import SqliteClientStore

    token = login(args.base, args.user, args.password)
    path = Path(args.store or tempfile.mkdtemp(prefix="cgt-device-")) / "device.sqlite3"
    store = SqliteClientStore(path)
    blobs: dict[str, bytes] = {}
    rng = random.Random()
    photos = PhotoQueue(
        store,
        HttpPhotoTransport(args.base, token),
        lambda sha, offset, n: blobs[sha][offset : offset + n],
        lambda: datetime.now(UTC),
        rng,
    )
    transport = Counting(HttpTransport(args.base, token))
    device = SyncClient(
        store,
        transport,
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        photos=photos,
        batch_size=args.batch,
        defer=args.defer,
    )
    started = time.perf_counter()
    for i in range(args.count):
        shas: list[str] = []
        if args.photos:
            blob = png((rng.randrange(256), rng.randrange(256), i % 256))
            sha = sha256(blob).hexdigest()
            blobs[sha] = blob
            photos.add(sha, len(blob), "image/png")
            shas.append(sha)
        device.record(
            REPORT,
            {
                "id": str(uuid.uuid4()),
                "category_code": args.category,
                "lat": args.lat + rng.uniform(-2e-4, 2e-4),
                "lon": args.lon + rng.uniform(-2e-4, 2e-4),
                "address": f"巡查上报 #{i + 1}",
                "description": "python -m sync report",
                "photos": shas,
            },
        )
    recorded = time.perf_counter()
    outcome = device.sync()
    done = time.perf_counter()
    received = outcome.received
    while outcome.ok and device.counts().received and time.perf_counter() - done < 120:
        time.sleep(0.5)  # deferred: the server applies behind; fetch the outcomes
        outcome = device.sync()
    settled = time.perf_counter()
    counts = device.counts()
    print(
        json.dumps(
            {
                "ok": outcome.ok,
                "error": outcome.error,
                "applied": transport.statuses["applied"],
                "duplicate": transport.statuses["duplicate"],
                "refused": transport.statuses["refused"],
                "waiting": counts.waiting,
                "needs_attention": counts.needs_attention,
                "pulled": outcome.pulled,
                "received": received,
                "sent": counts.received,
                "record_seconds": round(recorded - started, 3),
                "sync_seconds": round(done - recorded, 3),
                "settled_seconds": round(settled - recorded, 3),
                "store": str(path),
            },
            ensure_ascii=False,
        )
    )
    store.close()
    return 0 if outcome.ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sync",
        description=f"城管通 sync engine (protocol v{PROTOCOL_VERSION}): play a device over HTTP. "
        "The protocol is described in docs/sync-protocol.md; the test kit is sync.testkit.",
    )
    p.add_argument("--version", action="version", version=str(PROTOCOL_VERSION))
    p.add_argument("--base", default="http://127.0.0.1:5000", help="server URL")
    p.add_argument("--user", default="inspector1")
    p.add_argument("--password", default="")
    p.add_argument("--store", help="folder of the device store (default: a new temp folder)")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="record reports offline, then sync them")
    r.add_argument("--count", type=int, default=10)
    r.add_argument("--photos", action="store_true", help="attach a small unique photo to each")
    r.add_argument("--category", default="SJ0101")
    r.add_argument("--lat", type=float, default=DEMO_POINT[0])
    r.add_argument("--lon", type=float, default=DEMO_POINT[1])
    r.add_argument("--batch", type=int, default=50, help="mutations per push")
    r.add_argument("--defer", action="store_true",
                   help="deferred pushes: received at once, outcomes fetched after")  # fmt: skip
    r.set_defaults(run=report)
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0)
    try:
        return int(args.run(args))
    except SyncError as error:
        print(f"sync failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
