"""Photos: limits, content checks, metadata stripping, variants and who may see them."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy import func, select

from server.clock import FixedClock
from server.db import database
from server.models import Case, CaseReporter, Category, Photo
from server.services import photos as svc
from shared_models.enums import PhotoKind, Role
from shared_models.errors import InvalidInput
from tests.api.conftest import Person

# --- images made in memory -------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def jpeg(size: tuple[int, int] = (800, 600), color: str = "red") -> bytes:
    return encode(Image.new("RGB", size, color), "JPEG")


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (33.0, 44.0, 5.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (113.0, 18.0, 0.0),
    }
    return exif


def phone_jpeg() -> bytes:
    """200×100 stored sideways (orientation 6), left half red, right half blue, with GPS."""
    im = Image.new("RGB", (200, 100), "red")
    im.paste(Image.new("RGB", (100, 100), "blue"), (100, 0))
    xmp = b"<x:xmpmeta><rdf:Description exif:GPSLatitude='33,44.1N'/></x:xmpmeta>"
    return encode(im, "JPEG", exif=gps_exif(orientation=6), comment=b"secret-note", xmp=xmp)


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(client: FlaskClient, who: Person, data: bytes, **kw: Any) -> Any:
    return client.post(
        "/api/photos",
        data={"file": (io.BytesIO(data), "photo.jpg"), **kw},
        headers=who.headers,
        content_type="multipart/form-data",
    )


def get_file(client: FlaskClient, url: str, headers: dict[str, str]) -> Any:
    """GET a streamed file, buffered and closed (as a real server would close it)."""
    resp = client.get(url, headers=headers)
    resp.get_data()
    resp.close()
    return resp


def fetch(client: FlaskClient, who: Person | None, digest: str, variant: str) -> Any:
    headers = who.headers if who else {}
    return get_file(client, f"/api/photos/{digest}/content?variant={variant}", headers)


def count_photos(app: Flask) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(Photo)) or 0)


# --- upload and variants ---------------------------------------------------------------


def test_phone_photo_is_shown_upright_and_without_any_metadata(client, citizen):
    original = phone_jpeg()
    resp = upload(client, citizen, original)
    assert resp.status_code == 201
    body = resp.json
    assert body["sha256"] == sha(original)
    assert (body["width"], body["height"]) == (100, 200)  # upright
    assert body["had_gps"] is True and body["mime"] == "image/jpeg"
    assert body["size"] == len(original)

    public = get_file(client, body["url"], citizen.headers)
    assert public.status_code == 200 and public.mimetype == "image/jpeg"
    shown = Image.open(io.BytesIO(public.data))
    assert len(shown.getexif()) == 0
    assert not shown.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(shown.info)
    for secret in (b"Exif", b"GPS", b"secret-note", b"PhoneMaker", b"xmpmeta"):
        assert secret not in public.data
    assert shown.size == (100, 200)
    assert shown.getpixel((50, 20))[0] > 200  # red on top after turning
    assert shown.getpixel((50, 180))[2] > 200  # blue below

    kept = fetch(client, citizen, body["sha256"], "original")
    assert kept.data == original  # the uploader gets their bytes back untouched


def test_thumbnail_is_a_small_jpeg(client, citizen):
    body = upload(client, citizen, jpeg((800, 600))).json
    resp = get_file(client, body["thumb_url"], citizen.headers)
    assert resp.mimetype == "image/jpeg"
    thumb = Image.open(io.BytesIO(resp.data))
    assert thumb.format == "JPEG" and thumb.size == (320, 240)


@pytest.mark.parametrize(
    ("fmt", "mime", "mode"),
    [("PNG", "image/png", "RGBA"), ("WEBP", "image/webp", "RGB")],
)
def test_png_and_webp_are_accepted(client, citizen, fmt, mime, mode):
    data = encode(Image.new(mode, (64, 48), "green"), fmt, exif=gps_exif())
    resp = upload(client, citizen, data)
    assert resp.status_code == 201, resp.json
    assert resp.json["mime"] == mime and resp.json["had_gps"] is True
    public = get_file(client, resp.json["url"], citizen.headers)
    assert public.mimetype == mime
    shown = Image.open(io.BytesIO(public.data))
    assert shown.format == fmt and len(shown.getexif()) == 0
    thumb = get_file(client, resp.json["thumb_url"], citizen.headers)
    assert Image.open(io.BytesIO(thumb.data)).format == "JPEG"


def noisy_jpeg() -> bytes:
    return encode(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG")


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("P", (10, 10)), "GIF"),
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        "路灯不亮了 the street light is out".encode(),
        noisy_jpeg()[:3000],
        b"",
    ],
    ids=["gif", "pdf", "text", "truncated-jpeg", "empty"],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused(app, client, citizen, data):
    resp = upload(client, citizen, data)
    assert resp.status_code == 415
    assert resp.json["code"] == "unsupported_media"
    assert count_photos(app) == 0


def test_declared_type_is_not_trusted(client, citizen):
    fake = b"%PDF-1.4 not an image"
    resp = client.post("/api/photos", data=fake, headers=citizen.headers, content_type="image/jpeg")
    assert resp.status_code == 415


def test_raw_body_must_be_an_image_type(client, citizen):
    resp = client.post(
        "/api/photos", data=jpeg(), headers=citizen.headers, content_type="text/plain"
    )
    assert resp.status_code == 415 and resp.json["code"] == "unsupported_media"


def test_raw_image_body_is_accepted(client, citizen):
    data = jpeg()
    resp = client.post("/api/photos", data=data, headers=citizen.headers, content_type="image/jpeg")
    assert resp.status_code == 201 and resp.json["sha256"] == sha(data)


def test_multipart_without_file_is_a_validation_error(client, citizen):
    resp = client.post(
        "/api/photos",
        data={"other": "x"},
        headers=citizen.headers,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "file" in resp.json["errors"]


def test_oversize_upload_is_refused(app, client, citizen):
    app.config["PHOTO_MAX_BYTES"] = 1000
    resp = upload(client, citizen, noisy_jpeg())
    assert resp.status_code == 413 and resp.json["code"] == "payload_too_large"
    assert count_photos(app) == 0


def test_request_body_over_the_server_limit_is_refused(app, client, citizen):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    resp = client.post(
        "/api/photos", data=noisy_jpeg(), headers=citizen.headers, content_type="image/jpeg"
    )
    assert resp.status_code == 413 and resp.json["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "size",
    [(50_000, 50_000), (10_000, 10_000)],  # past Pillow's own error, and its warning
    ids=["bomb-error", "bomb-warning"],
)
def test_decompression_bomb_is_refused(app, client, citizen, size):
    resp = upload(client, citizen, png_header(*size))
    assert resp.status_code == 413 and resp.json["code"] == "too_many_pixels"
    assert count_photos(app) == 0


def test_pixel_limit_comes_from_the_configuration(app, client, citizen):
    app.config["PHOTO_MAX_PIXELS"] = 10_000
    resp = upload(client, citizen, jpeg((200, 200)))
    assert resp.status_code == 413 and resp.json["code"] == "too_many_pixels"


def test_put_checks_the_declared_sha256(app, client, citizen):
    data = jpeg()
    wrong = client.put(
        f"/api/photos/{sha(b'other')}",
        data=data,
        headers=citizen.headers,
        content_type="image/jpeg",
    )
    assert wrong.status_code == 422 and wrong.json["code"] == "hash_mismatch"
    assert count_photos(app) == 0
    right = client.put(
        f"/api/photos/{sha(data)}", data=data, headers=citizen.headers, content_type="image/jpeg"
    )
    assert right.status_code == 201 and right.json["sha256"] == sha(data)
    again = client.put(
        f"/api/photos/{sha(data)}", data=data, headers=citizen.headers, content_type="image/jpeg"
    )
    assert again.status_code == 200 and again.json == right.json


def test_multipart_declared_sha256_is_checked(client, citizen):
    resp = upload(client, citizen, jpeg(), sha256="0" * 64)
    assert resp.status_code == 422 and resp.json["code"] == "hash_mismatch"


def test_uploading_the_same_bytes_again_is_idempotent(app, client, citizen, person):
    data = jpeg()
    first = upload(client, citizen, data)
    second = upload(client, citizen, data)
    other = upload(client, person(Role.INSPECTOR), data)
    assert (first.status_code, second.status_code, other.status_code) == (201, 200, 200)
    assert first.json == second.json == other.json
    assert count_photos(app) == 1


def test_failed_file_write_leaves_no_row(app, client, citizen, monkeypatch):
    real_put = svc.PhotoStore.put

    def put(self, digest, variant, data):  # type: ignore[no-untyped-def]
        if variant == "thumb":
            raise OSError("disk full")
        return real_put(self, digest, variant, data)

    monkeypatch.setattr(svc.PhotoStore, "put", put)
    assert upload(client, citizen, jpeg()).status_code == 500
    assert count_photos(app) == 0


def test_failed_database_write_can_be_retried(app, client, citizen, monkeypatch):
    def broken(*args: object) -> bool:
        raise RuntimeError("database went away")

    data = jpeg()
    with monkeypatch.context() as m:
        m.setattr(svc, "_insert_if_absent", broken)
        assert upload(client, citizen, data).status_code == 500
    assert count_photos(app) == 0
    assert upload(client, citizen, data).status_code == 201


# --- who may see what ------------------------------------------------------------------


def test_anonymous_is_asked_to_sign_in(client, citizen):
    digest = upload(client, citizen, jpeg()).json["sha256"]
    assert client.post("/api/photos", data=jpeg(), content_type="image/jpeg").status_code == 401
    assert client.get(f"/api/photos/{digest}").status_code == 401
    assert fetch(client, None, digest, "public").status_code == 401


def test_metadata_and_head(client, citizen):
    body = upload(client, citizen, jpeg()).json
    assert client.get(f"/api/photos/{body['sha256']}", headers=citizen.headers).json == body
    head = client.head(f"/api/photos/{body['sha256']}", headers=citizen.headers)
    assert head.status_code == 200 and head.data == b""
    missing = client.head(f"/api/photos/{'f' * 64}", headers=citizen.headers)
    assert missing.status_code == 404


def test_another_citizen_cannot_tell_the_photo_exists(client, citizen, person):
    digest = upload(client, citizen, jpeg()).json["sha256"]
    stranger = person(Role.CITIZEN)
    for url in (f"/api/photos/{digest}", f"/api/photos/{'a' * 64}", "/api/photos/not-a-hash"):
        resp = client.get(url, headers=stranger.headers)
        assert resp.status_code == 404 and resp.json["code"] == "photo_not_found"
    for variant in ("public", "thumb", "original"):
        assert fetch(client, stranger, digest, variant).status_code == 404
    assert fetch(client, person(Role.MERCHANT), digest, "public").status_code == 404


def test_only_the_command_centre_sees_photos_of_no_case_of_theirs(client, citizen, person):
    """Inspectors and departments see photos with the cases they may see
    (tests/api/test_who_may_call_what.py); this one is on no case at all."""
    original = phone_jpeg()
    digest = upload(client, citizen, original).json["sha256"]
    for role in (Role.INSPECTOR, Role.HANDLER):
        staff = person(role)
        for variant in ("public", "thumb", "original"):
            assert fetch(client, staff, digest, variant).status_code == 404
    for role in (Role.DISPATCHER, Role.ADMIN):
        resp = fetch(client, person(role), digest, "original")
        assert resp.status_code == 200 and resp.data == original
        assert resp.mimetype == "image/jpeg"


def test_content_is_cacheable_privately_by_etag(client, citizen):
    digest = upload(client, citizen, jpeg()).json["sha256"]
    resp = fetch(client, citizen, digest, "thumb")
    assert resp.headers["ETag"] == f'"{digest}-thumb"'
    cache = resp.headers["Cache-Control"]
    assert "private" in cache and "immutable" in cache and "public" not in cache
    again = get_file(
        client,
        f"/api/photos/{digest}/content?variant=thumb",
        {**citizen.headers, "If-None-Match": resp.headers["ETag"]},
    )
    assert again.status_code == 304


def test_unknown_variant_is_a_validation_error(client, citizen):
    digest = upload(client, citizen, jpeg()).json["sha256"]
    assert fetch(client, citizen, digest, "raw").status_code == 422


# --- attached to cases -----------------------------------------------------------------


def make_case(app: Flask, clock: FixedClock, reporter_id: int) -> str:
    with database(app).session() as s:
        s.add(
            Category(
                code="0101",
                kind="component",
                class_code="01",
                class_name="公用设施",
                name="路灯",
                limits={"handle": 24.0},
            )
        )
        s.flush()
        s.add(
            Case(
                id="c0ffee00-0000-4000-8000-000000000001",
                state="reported",
                source="citizen",
                category_code="0101",
                lat=33.73,
                lon=113.3,
                reporter_id=reporter_id,
                created_at=clock.now,
                updated_at=clock.now,
            )
        )
        s.flush()
        s.add(
            CaseReporter(
                case_id="c0ffee00-0000-4000-8000-000000000001",
                user_id=reporter_id,
                reported_at=clock.now,
            )
        )
    return "c0ffee00-0000-4000-8000-000000000001"


def test_reporter_sees_the_evidence_photos_of_their_case(app, client, clock, citizen, person):
    handler = person(Role.HANDLER)
    digest = upload(client, handler, jpeg(color="blue")).json["sha256"]
    assert fetch(client, citizen, digest, "public").status_code == 404
    case_id = make_case(app, clock, citizen.id)
    with database(app).session() as s:
        svc.attach_photos(s, case_id, [digest], PhotoKind.AFTER, None, clock.now)
    assert fetch(client, citizen, digest, "public").status_code == 200
    assert fetch(client, citizen, digest, "thumb").status_code == 200
    assert client.get(f"/api/photos/{digest}", headers=citizen.headers).status_code == 200
    assert fetch(client, citizen, digest, "original").status_code == 404
    assert fetch(client, person(Role.CITIZEN), digest, "public").status_code == 404


def test_attach_ignores_repeats_and_names_unknown_photos(app, client, clock, citizen):
    digest = upload(client, citizen, jpeg()).json["sha256"]
    case_id = make_case(app, clock, citizen.id)
    with database(app).session() as s:
        rows = svc.attach_photos(
            s, case_id, [digest, digest.upper()], PhotoKind.REPORT, None, clock.now
        )
        assert len(rows) == 1
    with database(app).session() as s:
        assert svc.attach_photos(s, case_id, [digest], PhotoKind.REPORT, None, clock.now) == []
        assert len(svc.attach_photos(s, case_id, [digest], PhotoKind.BEFORE, None, clock.now)) == 1
    missing = sha(b"never uploaded")
    with database(app).session() as s, pytest.raises(InvalidInput) as err:
        svc.attach_photos(s, case_id, [digest, missing], PhotoKind.AFTER, None, clock.now)
    assert err.value.code == "unknown_photo"
    assert err.value.errors == {"photos": [missing]}


def test_multipart_part_without_a_name_is_a_validation_error(client, citizen, app):
    # Found by the API fuzz: a form part whose header has no name reached the NUL guard as
    # None and was a 500.
    boundary = "cgtboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\n{{}}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    resp = client.post(
        "/api/photos",
        data=body,
        headers=citizen.headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    assert count_photos(app) == 0
