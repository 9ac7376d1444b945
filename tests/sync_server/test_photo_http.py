"""The device's photo queue against a real server process over HTTP, through a proxy that
cuts connections mid-chunk, loses answers and damages bytes: every photo arrives whole,
resumed from the server's offset, and nobody else can touch an upload."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from server.clock import FixedClock
from sync.case_mutations import REPORT, registry
from sync.client import SyncClient
from sync.http import HttpPhotoTransport, HttpTransport
from sync.photos import PhotoQueue, PhotoStatus
from sync.stores.sqlite_client import SqliteClientStore
from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT, OTHER_INSPECTOR

from .proxy import Cut, FaultyProxy

CHUNK = 16 * 1024


def login(base: str, user: str) -> str:
    resp = requests.post(
        base + "/api/auth/login",
        json={"username": user, "password": DEMO_PASSWORD, "device_id": f"photo-{uuid.uuid4()}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def noisy_jpeg(seed: int) -> bytes:
    size = (400, 300)
    im = Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    assert len(buf.getvalue()) > 4 * CHUNK
    return buf.getvalue()


@pytest.fixture
def proxy(server: str) -> Iterator[FaultyProxy]:
    p = FaultyProxy(int(urlsplit(server).port or 0))
    yield p
    p.close()


class Phone:
    """One device: a SQLite store, the photo queue over HTTP (via the proxy), a fixed clock."""

    def __init__(self, base: str, token: str, path: Path) -> None:
        self.files: dict[str, bytes] = {}
        self.clock = FixedClock(datetime.now(UTC))
        self.store = SqliteClientStore(path)
        self.transport = HttpPhotoTransport(base, token)
        self.transport.http.headers["Connection"] = "close"  # one request per connection
        self.sent: list[int] = []
        put = self.transport.put_chunk

        def spy(sha: str, offset: int, chunk: bytes) -> int:
            self.sent.append(offset)
            return put(sha, offset, chunk)

        self.transport.put_chunk = spy  # type: ignore[method-assign]
        self.queue = PhotoQueue(
            self.store,
            self.transport,
            lambda sha, offset, n: self.files[sha][offset : offset + n],
            self.clock,
            random.Random(7),
            chunk_bytes=CHUNK,
            max_failures=4,
        )

    def take(self, data: bytes, mime: str = "image/jpeg") -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.files[sha] = data
        self.queue.add(sha, len(data), mime)
        return sha

    def later(self) -> None:
        self.clock.advance(hours=1)  # past any backoff


def original(base: str, token: str, sha: str) -> bytes:
    resp = requests.get(
        f"{base}/api/photos/{sha}/content",
        params={"variant": "original"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.content


def test_a_cut_connection_resumes_from_the_servers_offset(
    server: str, proxy: FaultyProxy, tmp_path: Path
) -> None:
    token = login(server, INSPECTOR)
    phone = Phone(proxy.base, token, tmp_path / "phone.sqlite3")
    data = noisy_jpeg(1)
    sha = phone.take(data)
    proxy.arm("PATCH", 3, Cut.REQUEST, at=CHUNK // 2)  # the 3rd chunk loses signal mid-body
    phone.queue.run()
    assert proxy.hit and phone.queue.status_of([sha]) == {sha: PhotoStatus.WAITING}
    (item,) = phone.queue.items()
    assert item.failures == 1 and item.offset == 2 * CHUNK
    state = requests.get(
        f"{server}/api/photos/{sha}/upload",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert state.json()["offset"] == 2 * CHUNK  # two whole chunks; nothing of the cut one
    phone.later()
    phone.queue.run()
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.UPLOADED}
    assert phone.sent[:3] == [0, CHUNK, 2 * CHUNK] and phone.sent[3] == 2 * CHUNK
    assert hashlib.sha256(original(server, token, sha)).hexdigest() == sha
    phone.store.close()


def test_a_lost_answer_and_a_damaged_chunk_cost_one_retry_each(
    server: str, proxy: FaultyProxy, tmp_path: Path
) -> None:
    token = login(server, INSPECTOR)
    phone = Phone(proxy.base, token, tmp_path / "phone.sqlite3")
    data = noisy_jpeg(2)
    sha = phone.take(data)
    proxy.arm("PATCH", 2, Cut.RESPONSE)  # the server took chunk 2, the phone never heard
    phone.queue.run()
    (item,) = phone.queue.items()
    assert item.status is PhotoStatus.WAITING and item.offset == CHUNK
    proxy.arm("PATCH", 1, Cut.FLIP, at=4000)  # a bit flipped in the next chunk's body
    phone.later()
    phone.queue.run()  # resumes at 2·CHUNK (the server's offset), that chunk is refused
    (item,) = phone.queue.items()
    assert item.status is PhotoStatus.WAITING and item.offset == 2 * CHUNK
    phone.later()
    phone.queue.run()
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.UPLOADED}
    assert len(proxy.hit) == 2
    assert hashlib.sha256(original(server, token, sha)).hexdigest() == sha
    phone.store.close()


def test_nobody_else_can_append_to_an_upload(server: str, tmp_path: Path) -> None:
    mine, theirs = login(server, INSPECTOR), login(server, OTHER_INSPECTOR)
    data = noisy_jpeg(3)
    sha = hashlib.sha256(data).hexdigest()
    url = f"{server}/api/photos/{sha}/upload"
    me = {"Authorization": f"Bearer {mine}"}
    them = {"Authorization": f"Bearer {theirs}"}
    assert requests.post(url, json={"size": len(data)}, headers=me, timeout=10).status_code == 201
    chunk = {"Content-Range": f"bytes 0-{CHUNK - 1}/{len(data)}"}
    taken = requests.patch(url, data=data[:CHUNK], headers={**me, **chunk}, timeout=10)
    assert taken.json()["offset"] == CHUNK
    tail = {"Content-Range": f"bytes {CHUNK}-{2 * CHUNK - 1}/{len(data)}"}
    stranger = requests.patch(url, data=b"x" * CHUNK, headers={**them, **tail}, timeout=10)
    assert stranger.status_code == 404 and stranger.json()["code"] == "upload_not_found"
    assert requests.delete(url, headers=them, timeout=10).status_code == 404
    assert requests.get(url, headers=me, timeout=10).json()["offset"] == CHUNK
    phone = Phone(server, mine, tmp_path / "phone.sqlite3")
    phone.take(data)
    phone.queue.run()  # the owner resumes from CHUNK and the photo is whole
    assert phone.sent[0] == CHUNK
    assert hashlib.sha256(original(server, mine, sha)).hexdigest() == sha
    phone.store.close()


def test_refused_photos_need_attention_and_their_report_says_so(
    server: str, tmp_path: Path
) -> None:
    token = login(server, INSPECTOR)
    phone = Phone(server, token, tmp_path / "phone.sqlite3")
    gif = io.BytesIO()
    Image.effect_noise((300, 300), 60).convert("P").save(gif, "GIF")
    fake = phone.take(gif.getvalue())  # says JPEG, is a GIF: refused at the first chunk
    huge = phone.take(b"\xff\xd8\xff" + bytes(11 * 1024 * 1024))  # over the size limit
    good = phone.take(noisy_jpeg(4))
    device = SyncClient(
        phone.store,
        HttpTransport(server, token),
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        photos=phone.queue,
    )
    lat, lon = INSPECTOR_POINT
    base = {"category_code": "SJ0101", "lat": lat, "lon": lon}
    bad = device.record(REPORT, {**base, "id": str(uuid.uuid4()), "photos": [good, fake]})
    fine = device.record(REPORT, {**base, "id": str(uuid.uuid4()), "photos": [good]})
    report = device.sync()
    assert report.ok and report.pushed == 1 and report.refused == 1
    items = {i.sha256: i for i in phone.queue.items()}
    assert items[fake].code == "unsupported_media" and items[huge].code == "payload_too_large"
    assert items[good].status is PhotoStatus.UPLOADED
    (attention,) = device.needs_attention()
    assert attention.seq == bad.seq and attention.code == "unknown_photo"
    assert device.photos_of(attention) == {good: "uploaded", fake: "attention"}
    assert fine.seq not in {e.seq for e in device.waiting()}
    phone.store.close()


class OldApp(HttpTransport):
    """An app built for protocol 0, which this server no longer speaks."""

    def _post(self, path: str, envelope: dict[str, object]) -> dict[str, object]:
        return super()._post(path, {**envelope, "protocol": 0})


def test_an_app_the_server_no_longer_speaks_to_is_told_to_update(
    server: str, tmp_path: Path
) -> None:
    token = login(server, INSPECTOR)
    phone = Phone(server, token, tmp_path / "phone.sqlite3")
    phone.transport.http.headers["Sync-Protocol"] = "0"
    sha = phone.take(noisy_jpeg(5))
    device = SyncClient(
        phone.store,
        OldApp(server, token),
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        photos=phone.queue,
    )
    lat, lon = INSPECTOR_POINT
    args = {"id": str(uuid.uuid4()), "category_code": "SJ0101", "lat": lat, "lon": lon}
    device.record(REPORT, args)
    report = device.sync()  # the photo call is refused first: the attempt ends there
    assert not report.ok and report.error == "unsupported_protocol"
    assert device.counts().update_required and device.counts().waiting == 1
    (item,) = phone.queue.items()
    assert item.status is PhotoStatus.WAITING and item.failures == 0  # not the photo's fault
    phone.queue.discard(sha)
    report = device.sync()  # and push says the same, in both languages
    assert report.error == "unsupported_protocol" and device.counts().waiting == 1
    resp = requests.post(
        server + "/api/sync/push",
        json={"protocol": 0, "client_id": "x", "mutations": []},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 426 and resp.json()["code"] == "unsupported_protocol"
    assert "请更新应用" in resp.json()["message_zh"] and "update" in resp.json()["message"]
    phone.store.close()
