"""Bad input of every kind gets a structured 4xx, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.db import database
from server.models import Case, CaseEvent
from tests.api.case_helpers import act, ok, report, report_body, row_counts, upload_photo
from tests.factories import (
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    OUTSIDE_POINT,
    load_city,
    login,
    login_phone,
)

SHAPE = {"code", "message", "message_zh", "errors"}


@pytest.fixture
def citizen(app, client):
    load_city(app)
    return login_phone(client, app, CITIZEN_PHONE)


def counts(app):
    with database(app).session() as s:
        return s.scalar(select(func.count(Case.id))), s.scalar(select(func.count(CaseEvent.id)))


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"lat": "north"}, "lat", "validation_failed"),
        ({"lat": 91}, "lat", "validation_failed"),
        ({"lon": -181}, "lon", "validation_failed"),
        ({"lat": float("nan")}, "lat", "validation_failed"),
        ({"id": "not-a-uuid"}, "id", "validation_failed"),
        ({"id": None}, "id", "validation_failed"),
        ({"category_code": "XX9999"}, "category_code", "unknown_category"),
        ({"category_code": 12}, "category_code", "validation_failed"),
        ({"description": "垃" * 2001}, "description", "validation_failed"),
        ({"address": "a" * 256}, "address", "validation_failed"),
        ({"photos": ["nothex"]}, "photos", "validation_failed"),
        ({"photos": ["a" * 64]}, "photos", "unknown_photo"),
        ({"photos": ["a" * 64] * 10}, "photos", "validation_failed"),
        ({"coord_system": "mars"}, "coord_system", "validation_failed"),
        ({"lat": OUTSIDE_POINT[0], "lon": OUTSIDE_POINT[1]}, "lat", "outside_city"),
        ({"source": "hotline"}, "source", None),  # a citizen cannot pick a channel: ignored
        ({"surprise": 1}, "surprise", "validation_failed"),
    ],
)
def test_bad_reports(client, app, citizen, overrides, field, code):
    before = counts(app)
    body = report_body(**overrides)
    if overrides.get("lat") != overrides.get("lat"):  # NaN cannot travel as strict JSON
        resp = client.post(
            "/api/cases",
            data='{"lat": NaN}'.replace(
                "{",
                "{"
                + ", ".join(
                    f'"{k}": {v!r}'.replace("'", '"') for k, v in body.items() if k != "lat"
                )
                + ", ",
            ),
            headers={**citizen, "Content-Type": "application/json"},
        )
    else:
        resp = client.post("/api/cases", json=body, headers=citizen)
    if code is None:
        assert resp.status_code == 201 and resp.json["case"]["source"] == "citizen"
        return
    assert resp.status_code in (400, 422), resp.json
    assert set(resp.json) == SHAPE and resp.json["code"] == code
    assert field in resp.json["errors"] and resp.json["message_zh"]
    assert counts(app) == before


def test_missing_fields_and_non_json(client, app, citizen):
    before = counts(app)
    resp = client.post("/api/cases", json={}, headers=citizen)
    assert resp.status_code == 422
    assert {"id", "category_code", "lat", "lon"} <= set(resp.json["errors"])
    resp = client.post(
        "/api/cases", data="garbage", headers={**citizen, "Content-Type": "application/json"}
    )
    assert resp.status_code in (400, 422) and set(resp.json) == SHAPE
    # errors maps fields to messages here too (it was webargs' bare English list)
    assert resp.json["errors"] == {"json": ["Not valid JSON. 请求内容不是有效的JSON。"]}
    resp = client.post("/api/cases", json=[1, 2], headers=citizen)
    assert resp.status_code in (400, 422) and set(resp.json) == SHAPE
    assert counts(app) == before


def test_oversized_body_is_413(client, app, citizen):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    resp = client.post("/api/cases", json=report_body(description="x" * 20_000), headers=citizen)
    assert resp.status_code == 413 and resp.json["code"] == "payload_too_large"


def test_gcj02_coordinates_are_stored_as_wgs84(client, citizen):
    from shared_models.geo import wgs84_to_gcj02

    lat, lon = report_body()["lat"], report_body()["lon"]
    glat, glon = wgs84_to_gcj02(lat, lon)
    case = ok(report(client, citizen, lat=glat, lon=glon, coord_system="gcj02"), 201)["case"]
    assert case["coord_system"] == "wgs84"
    assert abs(case["lat"] - lat) < 1e-6 and abs(case["lon"] - lon) < 1e-6


def test_same_report_twice_is_one_case_and_a_clash_is_409(client, app, citizen):
    body = report_body()
    first = client.post("/api/cases", json=body, headers=citizen)
    again = client.post("/api/cases", json=body, headers=citizen)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["case"]["id"] == first.json["case"]["id"]
    assert counts(app)[0] == 1
    clash = client.post("/api/cases", json={**body, "description": "别的问题"}, headers=citizen)
    assert clash.status_code == 409 and clash.json["code"] == "duplicate_id"
    assert counts(app)[0] == 1


def test_bad_actions(client, app, citizen):
    d, h, i = login(client, DISPATCHER), login(client, HANDLER), login(client, INSPECTOR)
    cid = ok(report(client, citizen), 201)["case"]["id"]
    before = counts(app)
    cases = [
        (d, "fly", {}, 422, "validation_failed"),
        (d, "dispatch", {}, 409, "wrong_state"),
        (d, "register", {"version": "1"}, 422, "validation_failed"),
        (d, "register", {"version": 99}, 409, "version_conflict"),
        (d, "register", {"category_code": "NOPE"}, 422, "unknown_category"),
        (d, "reject", {"reason": "x" * 501}, 422, "validation_failed"),
        (h, "accept", {}, 404, "case_not_found"),
        (i, "check", {"passed": True}, 403, None),
    ]
    for who, action, args, status, code in cases:
        body = {"version": 1, **args}
        resp = client.post(f"/api/cases/{cid}/actions/{action}", json=body, headers=who)
        assert resp.status_code == status, (action, args, resp.json)
        assert set(resp.json) == SHAPE
        if code:
            assert resp.json["code"] == code, (action, resp.json)
    missing = client.post(f"/api/cases/{cid}/actions/register", json={}, headers=d)
    assert missing.status_code == 422 and "version" in missing.json["errors"]
    assert counts(app) == before
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    ok(act(client, h, cid, "accept"))
    before = counts(app)
    resp = act(client, h, cid, "handle", note="done")
    assert resp.status_code == 422 and resp.json["code"] == "evidence_required"
    resp = act(client, h, cid, "dispatch", department="NOPE")
    assert resp.status_code == 403
    resp = act(client, h, cid, "handle", photos=["b" * 64])
    assert resp.status_code == 422 and resp.json["code"] == "unknown_photo"
    assert counts(app) == before
    assert ok(client.get(f"/api/cases/{cid}", headers=d))["state"] == "handling"
    resp = act(client, h, cid, "handle", photos=[upload_photo(client, h)])
    assert ok(resp)["state"] == "handled"


def test_bad_queue_queries(client, citizen):
    d = login(client, DISPATCHER)
    for query in (
        "light=purple",
        "limit=0",
        "limit=1000",
        "after=%%%",
        "state=flying",
        "source=pigeon",
        "supervised=maybe",
    ):
        resp = client.get(f"/api/queue?{query}", headers=d)
        assert resp.status_code == 422 and set(resp.json) == SHAPE, query


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/supervisions/116302031010032631808/answer"),
        ("delete", "/api/auth/devices/9223372036854775808"),
        ("delete", "/api/assessments/2026-10/adjustments/2147483648"),
        ("get", "/api/assessments/years/99999999999999999999"),
    ],
)
def test_ids_wider_than_the_id_columns_are_404(client, citizen, method, url):
    """Found by fuzzing: SQLite cannot bind such a number, and the answer was a 500."""
    d = login(client, DISPATCHER)
    resp = getattr(client, method)(url, json={"answer": "已处理"}, headers=d)
    assert resp.status_code == 404 and set(resp.json) == SHAPE, resp.json


def test_a_refused_report_with_photos_writes_no_row(client, app, citizen):
    """The unknown photo is found after the case, its reporter and its event are added."""
    shas = [upload_photo(client, citizen), upload_photo(client, citizen)]
    before = row_counts(app)
    for overrides, code in (
        ({"photos": [*shas, "c" * 64]}, "unknown_photo"),
        ({"photos": shas, "lat": OUTSIDE_POINT[0], "lon": OUTSIDE_POINT[1]}, "outside_city"),
        ({"photos": shas, "category_code": "XX9999"}, "unknown_category"),
    ):
        resp = report(client, citizen, **overrides)
        assert resp.status_code == 422 and resp.json["code"] == code, resp.json
        assert row_counts(app) == before, code
    body = report_body(photos=shas)
    ok(client.post("/api/cases", json=body, headers=citizen), 201)
    after = row_counts(app)
    assert after["cases"] == before["cases"] + 1
    assert after["case_photos"] == before["case_photos"] + 2
    clash = client.post("/api/cases", json={**body, "description": "另一件事"}, headers=citizen)
    assert clash.status_code == 409 and clash.json["code"] == "duplicate_id"
    assert row_counts(app) == after


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("post", "/api/cases", {"description": "垃圾\x00堆"}, "description"),
        ("post", "/api/cases", {"address": "光明路\x00"}, "address"),
        ("get", "/api/queue?category=SJ%00", None, "category"),
        ("get", "/api/categories?q=%00", None, "q"),
        ("get", "/api/cases/%00", None, "case_id"),
        ("post", "/api/auth/login", {"username": "a\x00", "password": "x"}, "username"),
    ],
)
def test_text_with_a_nul_is_refused_on_every_engine(client, app, citizen, method, url, body, field):
    """Found by fuzzing on PostgreSQL: its text cannot hold U+0000, and these were 500s."""
    d = login(client, DISPATCHER)
    before = counts(app)
    kwargs = {"json": report_body(**body) if url == "/api/cases" else body} if body else {}
    resp = getattr(client, method)(url, headers=citizen if url == "/api/cases" else d, **kwargs)
    assert resp.status_code == 422 and set(resp.json) == SHAPE, resp.json
    assert "U+0000" in resp.json["errors"][field][0] and counts(app) == before
