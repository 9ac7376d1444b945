"""Resumable, chunked photo upload: offsets, verification, limits, expiry, who may resume."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from server.clock import FixedClock
from server.db import database
from server.models import PhotoUpload
from server.services import photo_uploads
from shared_models.enums import Role
from tests.api.case_helpers import row_counts
from tests.api.conftest import Person
from tests.api.test_photos import count_photos, encode, jpeg, png_header, sha

CHUNK = 16 * 1024


HEADERS_OF_NOBODY = {"Authorization": "Bearer not-a-token"}


def big_jpeg(seed: int = 1) -> bytes:
    """A noisy JPEG of several chunks (noise does not compress)."""
    im = Image.effect_noise((300, 200), 40 + seed).convert("RGB")
    data = encode(im, "JPEG", quality=95)
    assert len(data) > 3 * CHUNK
    return data


@pytest.fixture(autouse=True)
def small_chunks(app: Flask) -> None:
    app.config["PHOTO_CHUNK_MAX_BYTES"] = CHUNK


def begin(client: FlaskClient, who: Person, data: bytes, **body: Any) -> Any:
    payload = {"size": len(data), "mime": "image/jpeg", **body}
    return client.post(f"/api/photos/{sha(data)}/upload", json=payload, headers=who.headers)


def digest_of(chunk: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(chunk).digest()).decode() + ":"


def send(
    client: FlaskClient,
    who: Person,
    digest: str,
    offset: int,
    chunk: bytes,
    total: int | str,
    *,
    with_digest: bool = True,
    **headers: str,
) -> Any:
    hdrs = {
        **who.headers,
        "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{total}",
        **headers,
    }
    if with_digest:
        hdrs.setdefault("Content-Digest", digest_of(chunk))
    return client.patch(
        f"/api/photos/{digest}/upload",
        data=chunk,
        headers=hdrs,
        content_type="application/octet-stream",
    )


def send_all(
    client: FlaskClient, who: Person, data: bytes, start: int = 0, upto: int | None = None
) -> Any:
    """Send ``data[start:upto]`` chunk by chunk."""
    offset, resp, end = start, None, len(data) if upto is None else upto
    while offset < end:
        chunk = data[offset : min(offset + CHUNK, end)]
        resp = send(client, who, sha(data), offset, chunk, len(data))
        assert resp.status_code in (200, 201), resp.json
        offset = resp.json["offset"]
    return resp


def uploads_in_db(app: Flask) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(PhotoUpload)) or 0)


def partial_files(app: Flask) -> list[Path]:
    return sorted((Path(app.config["PHOTO_DIR"]) / "partial").glob("*/*"))


def test_a_photo_arrives_in_chunks_and_is_stored_like_a_whole_upload(app, client, citizen):
    data = big_jpeg()
    started = begin(client, citizen, data)
    assert started.status_code == 201, started.json
    assert started.json["offset"] == 0 and started.json["complete"] is False
    assert started.json["chunk_max"] == CHUNK and started.json["expires_at"]
    assert started.headers["Upload-Offset"] == "0"
    first = send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    assert first.status_code == 200 and first.json["offset"] == CHUNK
    head = client.head(f"/api/photos/{sha(data)}/upload", headers=citizen.headers)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(CHUNK)
    last = send_all(client, citizen, data, start=CHUNK)
    assert last.status_code == 201 and last.json["complete"] is True
    assert last.json["photo"]["sha256"] == sha(data) and last.json["photo"]["size"] == len(data)
    stored = client.get(
        f"/api/photos/{sha(data)}/content?variant=original", headers=citizen.headers
    )
    assert hashlib.sha256(stored.get_data()).hexdigest() == sha(data)
    stored.close()
    assert uploads_in_db(app) == 0 and partial_files(app) == [] and count_photos(app) == 1
    # the last chunk's answer was lost: sending it again says "complete", changes nothing
    again = send(client, citizen, sha(data), len(data) - 10, data[-10:], len(data))
    assert again.status_code == 200 and again.json["complete"] and count_photos(app) == 1
    resumed = begin(client, citizen, data)
    assert resumed.status_code == 200 and resumed.json["offset"] == len(data)


def test_a_chunk_at_another_offset_changes_nothing_and_names_the_servers(app, client, citizen):
    data = big_jpeg()
    begin(client, citizen, data)
    assert send(client, citizen, sha(data), 0, data[:CHUNK], len(data)).status_code == 200
    for offset in (0, 2 * CHUNK, CHUNK - 1):  # a replay, a skip ahead, an overlap
        resp = send(client, citizen, sha(data), offset, data[offset : offset + CHUNK], len(data))
        assert resp.status_code == 409 and resp.json["code"] == "offset_mismatch"
        assert resp.json["errors"] == {"offset": CHUNK} and resp.headers["Upload-Offset"] == str(
            CHUNK
        )
        assert str(CHUNK) in resp.json["message_zh"]
    assert send_all(client, citizen, data, start=CHUNK).json["complete"]


def test_a_damaged_chunk_is_refused_and_the_good_one_taken(app, client, citizen):
    data = big_jpeg()
    begin(client, citizen, data)
    chunk = bytearray(data[:CHUNK])
    chunk[100] ^= 0xFF
    resp = send(
        client,
        citizen,
        sha(data),
        0,
        bytes(chunk),
        len(data),
        **{"Content-Digest": digest_of(data[:CHUNK])},
    )
    assert resp.status_code == 422 and resp.json["code"] == "chunk_corrupt"
    state = client.get(f"/api/photos/{sha(data)}/upload", headers=citizen.headers)
    assert state.json["offset"] == 0
    assert send_all(client, citizen, data).json["photo"]["sha256"] == sha(data)


def test_damage_without_a_digest_is_caught_by_the_sha256_and_the_upload_dropped(
    app, client, citizen
):
    data = big_jpeg()
    begin(client, citizen, data)
    bad = data[:-1] + bytes([data[-1] ^ 1])
    offset = 0
    while offset + CHUNK < len(bad):
        offset = send(
            client, citizen, sha(data), offset, bad[offset : offset + CHUNK], len(data)
        ).json["offset"]
    resp = send(client, citizen, sha(data), offset, bad[offset:], len(data), with_digest=False)
    assert resp.status_code == 422 and resp.json["code"] == "hash_mismatch"
    assert count_photos(app) == 0 and uploads_in_db(app) == 0 and partial_files(app) == []
    gone = client.get(f"/api/photos/{sha(data)}/upload", headers=citizen.headers)
    assert gone.status_code == 404 and gone.json["code"] == "upload_not_found"


def test_only_the_uploader_can_see_or_extend_an_upload(app, client, citizen, person):
    data = big_jpeg()
    begin(client, citizen, data)
    send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    for other in (person(Role.CITIZEN), person(Role.DISPATCHER)):
        url = f"/api/photos/{sha(data)}/upload"
        assert client.get(url, headers=other.headers).json["code"] == "upload_not_found"
        taken = send(client, other, sha(data), CHUNK, data[CHUNK : 2 * CHUNK], len(data))
        assert taken.status_code == 404 and taken.json["code"] == "upload_not_found"
        assert client.delete(url, headers=other.headers).status_code == 404
        own = begin(client, other, data)  # their own upload of the same bytes, from 0
        assert own.status_code == 201 and own.json["offset"] == 0
    mine = client.get(f"/api/photos/{sha(data)}/upload", headers=citizen.headers)
    assert mine.json["offset"] == CHUNK
    assert client.get(f"/api/photos/{sha(data)}/upload").status_code == 401


def test_a_stored_photo_is_only_reported_complete_to_who_may_see_it(app, client, citizen, person):
    data = big_jpeg()
    begin(client, citizen, data)
    send_all(client, citizen, data)
    staff = begin(client, person(Role.DISPATCHER), data)
    assert staff.status_code == 200 and staff.json["complete"] and staff.json["photo"]
    for role in (Role.INSPECTOR, Role.HANDLER):  # not on a case of theirs: nothing revealed
        other = begin(client, person(role), data)
        assert other.json["offset"] == 0 and other.json["photo"] is None
    stranger = person(Role.CITIZEN)
    blind = begin(client, stranger, data)  # must prove the bytes: nothing is revealed
    assert blind.status_code == 201 and blind.json["offset"] == 0 and blind.json["photo"] is None
    done = send_all(client, stranger, data)
    assert done.status_code == 200 and done.json["complete"] and count_photos(app) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"size": 11 * 1024 * 1024}, 413, "payload_too_large"),
        ({"mime": "image/gif"}, 415, "unsupported_media"),
        ({"size": 0}, 422, "validation_failed"),
        ({"size": "12"}, 422, "validation_failed"),
    ],
)
def test_a_bad_start_is_refused(app, client, citizen, body, status, code):
    resp = begin(client, citizen, big_jpeg(), **body)
    assert resp.status_code == status and resp.json["code"] == code
    assert uploads_in_db(app) == 0


def test_bad_chunks_are_refused_with_the_reason(app, client, citizen):
    data = big_jpeg()
    url = f"/api/photos/{sha(data)}/upload"
    assert (
        client.post(
            "/api/photos/NOTHEX/upload", json={"size": 5}, headers=citizen.headers
        ).status_code
        == 422
    )
    nothing = send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    assert nothing.status_code == 404 and nothing.json["code"] == "upload_not_found"
    begin(client, citizen, data)
    no_range = client.patch(url, data=data[:CHUNK], headers=citizen.headers)
    assert no_range.status_code == 422 and "Content-Range" in no_range.json["errors"]
    short = send(
        client,
        citizen,
        sha(data),
        0,
        data[:CHUNK],
        len(data),
        **{"Content-Range": f"bytes 0-9/{len(data)}"},
    )
    assert short.status_code == 422 and "Content-Range" in short.json["errors"]
    other_size = send(client, citizen, sha(data), 0, data[:CHUNK], len(data) + 1)
    assert other_size.status_code == 422
    bad_digest = send(
        client,
        citizen,
        sha(data),
        0,
        data[:CHUNK],
        len(data),
        **{"Content-Digest": "sha-256=:abc:"},
    )
    assert bad_digest.status_code == 422 and "Content-Digest" in bad_digest.json["errors"]
    too_big = send(client, citizen, sha(data), 0, data[: CHUNK + 1], len(data))
    assert too_big.status_code == 413 and too_big.json["code"] == "chunk_too_large"
    far_too_big = send(client, citizen, sha(data), 0, data[: 3 * CHUNK], len(data))
    assert far_too_big.status_code == 413 and far_too_big.json["code"] == "chunk_too_large"
    assert str(CHUNK) in far_too_big.json["message"]
    last = len(data) - 100
    send_all(client, citizen, data, upto=last)  # not complete: the size says more is to come
    past = send(client, citizen, sha(data), last, data[last:] + b"0" * 50, "*")
    assert past.status_code == 413 and past.json["code"] == "payload_too_large"
    assert client.get(url, headers=citizen.headers).json["offset"] == last
    for resp in (no_range, short, bad_digest, too_big, past):
        assert set(resp.json) == {"code", "message", "message_zh", "errors"}


def test_a_refused_chunk_writes_no_row_and_keeps_the_offset(app, client, citizen):
    data = big_jpeg()
    begin(client, citizen, data)
    send_all(client, citizen, data, upto=CHUNK)
    url = f"/api/photos/{sha(data)}/upload"
    state, before = client.get(url, headers=citizen.headers).json, row_counts(app)
    damaged = bytes([data[CHUNK] ^ 1]) + data[CHUNK + 1 : 2 * CHUNK]
    good_digest = {"Content-Digest": digest_of(data[CHUNK : 2 * CHUNK])}
    for resp in (
        send(client, citizen, sha(data), CHUNK, damaged, len(data), **good_digest),
        send(client, citizen, sha(data), 0, data[:CHUNK], len(data)),  # a replay
        send(client, citizen, sha(data), CHUNK, data[CHUNK : 3 * CHUNK], len(data)),
        send(client, citizen, sha(data), CHUNK, data[CHUNK : 2 * CHUNK], len(data) + 1),
        client.delete(url, headers=HEADERS_OF_NOBODY),
    ):
        assert resp.status_code in (401, 409, 413, 422), resp.json
        assert client.get(url, headers=citizen.headers).json == state
        assert row_counts(app) == before
    assert send_all(client, citizen, data, start=CHUNK).json["complete"]
    assert row_counts(app)["photos"] == before["photos"] + 1


@pytest.mark.parametrize(
    ("head", "code"),
    [
        (encode(Image.new("P", (300, 300)), "GIF") + b"\0" * 20, "unsupported_media"),
        (png_header(50_000, 50_000), "too_many_pixels"),
    ],
    ids=["gif", "bomb"],
)
def test_what_can_never_be_a_photo_is_refused_at_the_first_chunk(app, client, citizen, head, code):
    size = 1_000_000
    digest = "ab" * 32
    client.post(f"/api/photos/{digest}/upload", json={"size": size}, headers=citizen.headers)
    resp = send(client, citizen, digest, 0, head, size)
    assert resp.json["code"] == code and resp.status_code in (413, 415)
    assert uploads_in_db(app) == 0 and partial_files(app) == []


def test_one_user_may_have_only_so_many_unfinished_uploads(app, client, citizen):
    app.config["PHOTO_UPLOADS_PER_USER"] = 2
    photos = [big_jpeg(n) for n in range(3)]
    assert begin(client, citizen, photos[0]).status_code == 201
    assert begin(client, citizen, photos[1]).status_code == 201
    refused = begin(client, citizen, photos[2])
    assert refused.status_code == 429 and refused.json["code"] == "too_many_uploads"
    assert begin(client, citizen, photos[0]).status_code == 200  # resuming is always fine
    assert (
        client.delete(f"/api/photos/{sha(photos[0])}/upload", headers=citizen.headers).status_code
        == 204
    )
    assert begin(client, citizen, photos[2]).status_code == 201


def test_unfinished_uploads_expire_and_are_pruned(
    app: Flask, client: FlaskClient, citizen: Person, clock: FixedClock
) -> None:
    app.config["PHOTO_UPLOAD_TTL_HOURS"] = 0.25  # the sign-in token lives an hour here
    url = f"/api/photos/{sha(data := big_jpeg())}/upload"
    begin(client, citizen, data)
    send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    clock.advance(minutes=14)
    assert client.get(url, headers=citizen.headers).json["offset"] == CHUNK
    send(client, citizen, sha(data), CHUNK, data[CHUNK : 2 * CHUNK], len(data))  # extends it
    clock.advance(minutes=14)
    assert client.get(url, headers=citizen.headers).status_code == 200
    clock.advance(minutes=2)
    assert client.get(url, headers=citizen.headers).status_code == 404
    late = send(client, citizen, sha(data), 2 * CHUNK, data[2 * CHUNK : 3 * CHUNK], len(data))
    assert late.status_code == 404
    orphan = Path(app.config["PHOTO_DIR"]) / "partial" / "999" / ("cd" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    os.utime(orphan, (0, 0))
    cfg = photo_uploads.UploadSettings.from_config(app.config)
    with database(app).session() as s:
        assert photo_uploads.prune(s, cfg, clock.now) == 1
    assert uploads_in_db(app) == 0 and partial_files(app) == []
    again = begin(client, citizen, data)
    assert again.status_code == 201 and again.json["offset"] == 0


def test_bytes_a_crash_left_past_the_committed_offset_are_cut_off(app, client, citizen):
    data = big_jpeg()
    begin(client, citizen, data)
    send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    (path,) = partial_files(app)
    with path.open("ab") as fh:  # a chunk written, its row never committed
        fh.write(b"\0" * 1000)
    assert send_all(client, citizen, data, start=CHUNK).json["photo"]["sha256"] == sha(data)


def test_a_lost_partial_file_restarts_the_upload(app, client, citizen):
    data = big_jpeg()
    begin(client, citizen, data)
    send(client, citizen, sha(data), 0, data[:CHUNK], len(data))
    partial_files(app)[0].unlink()
    state = client.get(f"/api/photos/{sha(data)}/upload", headers=citizen.headers)
    assert state.json["offset"] == 0
    assert send_all(client, citizen, data).json["complete"]


def test_an_app_too_old_for_the_server_is_asked_to_update(client, citizen):
    data = big_jpeg()
    resp = client.post(
        f"/api/photos/{sha(data)}/upload",
        json={"size": len(data)},
        headers={**citizen.headers, "Sync-Protocol": "0"},
    )
    assert resp.status_code == 426 and resp.json["code"] == "unsupported_protocol"
    assert "更新" in resp.json["message_zh"]
    ok = client.post(
        f"/api/photos/{sha(data)}/upload",
        json={"size": len(data)},
        headers={**citizen.headers, "Sync-Protocol": "1"},
    )
    assert ok.status_code == 201


def test_the_whole_file_put_still_works_beside_chunks(app, client, citizen):
    data = jpeg()
    whole = client.put(
        f"/api/photos/{sha(data)}", data=data, headers=citizen.headers, content_type="image/jpeg"
    )
    assert whole.status_code == 201
    assert begin(client, citizen, data).json["complete"]


def test_two_copies_of_one_chunk_at_once_are_taken_once(app, client, citizen, db_url):
    """A retry racing its original (the phone timed out, the first copy is still being
    written): the row lock serialises them and the second finds the offset moved on."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing runs at once there")
    data = big_jpeg()
    begin(client, citizen, data)
    barrier = threading.Barrier(2)

    def copy() -> int:
        barrier.wait()
        with app.test_client() as own:
            return int(send(own, citizen, sha(data), 0, data[:CHUNK], len(data)).status_code)

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: copy(), range(2)))
    assert statuses == [200, 409]
    (path,) = partial_files(app)
    assert path.read_bytes() == data[:CHUNK]
    assert send_all(client, citizen, data, start=CHUNK).json["complete"]
