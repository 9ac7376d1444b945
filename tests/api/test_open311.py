"""Open311 GeoReport v2: what an existing civic-reporting client sees and can do."""

from __future__ import annotations

import io
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from server.clock import FixedClock
from server.db import database
from server.models import ApiKey, Case, Category, Open311Contact, User
from tests.factories import (
    CITIZEN_PHONE,
    DISPATCHER,
    INSPECTOR_POINT,
    OUTSIDE_POINT,
    load_city,
    login,
    login_phone,
)

BASE = "/open311/v2"
GARBAGE, MANHOLE = "SJ0101", "BJ0101"
LAT, LON = INSPECTOR_POINT
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
CONTACT = {
    "email": "wang.xiaoming@example.com",
    "phone": "13712345678",
    "first_name": "Xiaoming",
    "last_name": "Wangsurname",
    "device_id": "device-secret-42",
    "account_id": "acct-secret-77",
}


@pytest.fixture
def api_key(app: Flask) -> str:
    load_city(app)
    result = app.test_cli_runner().invoke(args=["cgt", "open311-key", "fixmycity"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def post(client: FlaskClient, key: str | None, fmt: str = "json", **fields: Any) -> Any:
    form = {"service_code": GARBAGE, "lat": str(LAT), "long": str(LON), **fields}
    if key is not None:
        form["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def case_count(app: Flask) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def xml_of(resp: Any) -> ET.Element:
    assert resp.content_type == "text/xml; charset=utf-8"
    assert resp.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(resp.data)


def assert_spec_error(resp: Any, status: int, fmt: str = "json") -> str:
    assert resp.status_code == status
    if fmt == "xml":
        root = xml_of(resp)
        assert root.tag == "errors"
        error = root.find("error")
        assert error is not None and error.findtext("code") == str(status)
        return error.findtext("description") or ""
    assert resp.content_type.startswith("application/json")
    assert isinstance(resp.json, list) and resp.json[0]["code"] == status
    return str(resp.json[0]["description"])


# ----------------------------------------------------------------------------- discovery, services


def test_discovery_in_both_formats(client: FlaskClient) -> None:
    body = client.get(f"{BASE}/discovery.json").json
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and endpoint["url"].startswith("http")
    assert endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert {"changeset", "contact", "key_service"} <= set(body)
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == endpoint["formats"]
    assert root.findtext("endpoints/endpoint/type") == "production"


def test_services_are_the_active_catalogue(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    with database(app).session() as s:
        active = list(s.scalars(select(Category.code).where(Category.active.is_(True))))
        garbage = s.get(Category, GARBAGE)
        assert garbage is not None
        name, group = garbage.name, garbage.class_name
    body = client.get(f"{BASE}/services.json").json
    assert sorted(x["service_code"] for x in body) == sorted(active)
    item = next(x for x in body if x["service_code"] == GARBAGE)
    assert item["service_name"] == name and item["group"] == group
    assert item["type"] == "realtime" and item["metadata"] is False
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert [e.findtext("service_code") for e in root.findall("service")] == [
        x["service_code"] for x in body
    ]
    assert root.find("service/metadata") is not None
    assert root.findtext("service/metadata") == "false"


def test_service_definition_and_unknown_code(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    assert client.get(f"{BASE}/services/{GARBAGE}.json").json == {
        "service_code": GARBAGE,
        "attributes": [],
    }
    root = xml_of(client.get(f"{BASE}/services/{GARBAGE}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == GARBAGE
    assert root.find("attributes") is not None and len(root.find("attributes") or []) == 0
    assert "NOPE" in assert_spec_error(client.get(f"{BASE}/services/NOPE.json"), 404)
    assert_spec_error(client.get(f"{BASE}/services/NOPE.xml"), 404, "xml")


# ----------------------------------------------------------------------------- POST requests


def test_post_files_a_case_the_dispatcher_sees(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    resp = post(client, api_key, description="路边垃圾堆积", address_string="光明路1号", **CONTACT)
    assert resp.status_code == 200, resp.json
    [receipt] = resp.json
    rid = receipt["service_request_id"]
    assert uuid.UUID(rid) and receipt["account_id"] == CONTACT["account_id"]
    assert receipt["service_notice"]

    [item] = client.get(f"{BASE}/requests/{rid}.json").json
    assert set(item) == REQUEST_FIELDS
    assert item["status"] == "open" and item["service_code"] == GARBAGE
    assert item["description"] == "路边垃圾堆积" and item["address"] == "光明路1号"
    assert item["requested_datetime"] == "2026-11-16T09:00:00+08:00"
    assert item["expected_datetime"] and item["expected_datetime"].endswith("+08:00")
    assert item["lat"] == pytest.approx(LAT) and item["long"] == pytest.approx(LON)

    queue = client.get("/api/queue", headers=login(client, DISPATCHER)).json["items"]
    mine = next(c for c in queue if c["id"] == rid)
    assert mine["source"] == "open311" and mine["state"] == "reported"
    with database(app).session() as s:
        contact = s.get(Open311Contact, rid)
        assert contact is not None and contact.email == CONTACT["email"]
        assert contact.phone == CONTACT["phone"]


def test_receipt_names_a_known_problem_nearby(client: FlaskClient, api_key: str) -> None:
    first = post(client, api_key).json[0]["service_request_id"]
    again = post(client, api_key).json[0]
    assert again["service_request_id"] != first and first in again["service_notice"]


def test_post_xml_receipt(client: FlaskClient, api_key: str) -> None:
    root = xml_of(post(client, api_key, "xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id")
    assert root.find("request/account_id") is not None


@pytest.mark.parametrize("key", [None, "", "cgt311_wrong"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_without_valid_key_is_403(
    app: Flask, client: FlaskClient, api_key: str, key: str | None, fmt: str
) -> None:
    assert "api_key" in assert_spec_error(post(client, key, fmt), 403, fmt)
    assert case_count(app) == 0


def test_inactive_key_is_403(app: Flask, client: FlaskClient, api_key: str) -> None:
    with database(app).session() as s:
        for row in s.scalars(select(ApiKey)):
            row.active = False
    assert_spec_error(post(client, api_key), 403)


def test_key_is_stored_as_digest_and_names_are_unique(app: Flask, api_key: str) -> None:
    with database(app).session() as s:
        [row] = s.scalars(select(ApiKey)).all()
        assert row.name == "fixmycity" and api_key not in row.key_digest
    again = app.test_cli_runner().invoke(args=["cgt", "open311-key", "fixmycity"])
    assert again.exit_code != 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_or_missing_service_code_is_400(
    app: Flask, client: FlaskClient, api_key: str, fmt: str
) -> None:
    assert "NOPE" in assert_spec_error(post(client, api_key, fmt, service_code="NOPE"), 400, fmt)
    assert_spec_error(post(client, api_key, fmt, service_code=""), 400, fmt)
    assert case_count(app) == 0


@pytest.mark.parametrize(
    "lat, lon",
    [("abc", "113.2"), ("91", "113.2"), ("33.7", "181"), ("nan", "113.2"), ("inf", "1"), ("", "")],
)
def test_bad_coordinates_are_400_and_write_nothing(
    app: Flask, client: FlaskClient, api_key: str, lat: str, lon: str
) -> None:
    assert_spec_error(post(client, api_key, lat=lat, long=lon, **CONTACT), 400)
    with database(app).session() as s:
        assert s.scalar(select(func.count()).select_from(Open311Contact)) == 0
    assert case_count(app) == 0


def test_address_only_is_refused_with_a_reason(client: FlaskClient, api_key: str) -> None:
    resp = client.post(
        f"{BASE}/requests.json",
        data={"api_key": api_key, "service_code": GARBAGE, "address_string": "光明路1号"},
    )
    assert "geocod" in assert_spec_error(resp, 400)


def test_outside_the_city_and_overlong_fields_are_400(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    lat, lon = OUTSIDE_POINT
    assert_spec_error(post(client, api_key, lat=str(lat), long=str(lon)), 400)
    assert_spec_error(post(client, api_key, email="x" * 300), 400)
    assert_spec_error(post(client, api_key, description="长" * 5000), 400)
    assert case_count(app) == 0


# ----------------------------------------------------------------------------- GET requests


def _ids(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.json
    return [x["service_request_id"] for x in resp.json]


def test_get_requests_filters(
    app: Flask, client: FlaskClient, api_key: str, clock: FixedClock
) -> None:
    first = post(client, api_key).json[0]["service_request_id"]
    clock.advance(days=2)
    second = post(client, api_key, service_code=MANHOLE).json[0]["service_request_id"]
    clock.advance(days=2)
    third = post(client, api_key, lat=str(LAT + 0.0005)).json[0]["service_request_id"]
    headers = login(client, DISPATCHER)
    resp = client.post(
        f"/api/cases/{first}/actions/reject",
        json={"version": 1, "reason": "不属于城管职责"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.json

    assert _ids(client.get(f"{BASE}/requests.json")) == [third, second, first]  # newest first
    assert _ids(client.get(f"{BASE}/requests.json?status=closed")) == [first]
    assert _ids(client.get(f"{BASE}/requests.json?status=open")) == [third, second]
    assert len(_ids(client.get(f"{BASE}/requests.json?status=open,closed"))) == 3
    assert _ids(client.get(f"{BASE}/requests.json?service_code={MANHOLE}")) == [second]
    assert _ids(client.get(f"{BASE}/requests.json?service_code={MANHOLE},{GARBAGE}")) == [
        third,
        second,
        first,
    ]
    window = "start_date=2026-11-17T00:00:00%2B08:00&end_date=2026-11-19T00:00:00Z"
    assert _ids(client.get(f"{BASE}/requests.json?{window}")) == [second]
    assert _ids(client.get(f"{BASE}/requests.json?start_date=2026-11-19T00:00:00Z")) == [third]
    ids = f"{first},{third},{uuid.uuid4()}"
    assert _ids(client.get(f"{BASE}/requests.json?service_request_id={ids}&status=open")) == [
        third,
        first,
    ]
    rejected = client.get(f"{BASE}/requests/{first}.json").json[0]
    assert rejected["status"] == "closed" and "不属于城管职责" in rejected["status_notes"]
    assert rejected["expected_datetime"] is None

    clock.advance(days=95)  # by default only the last 90 days are listed
    assert _ids(client.get(f"{BASE}/requests.json")) == []


@pytest.mark.parametrize(
    "query",
    [
        "status=pending",
        "start_date=yesterday",
        "start_date=2026-11-16T09:00:00",  # no zone
        "start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z",  # > 90 days
        "start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z",
        "jurisdiction_id=elsewhere.example",
    ],
)
def test_bad_filters_are_spec_errors(client: FlaskClient, query: str) -> None:
    status = 404 if "jurisdiction" in query else 400
    assert_spec_error(client.get(f"{BASE}/requests.json?{query}"), status)
    assert_spec_error(client.get(f"{BASE}/requests.xml?{query}"), status, "xml")


def test_unknown_request_token_and_path(client: FlaskClient, api_key: str) -> None:
    rid = post(client, api_key).json[0]["service_request_id"]
    assert client.get(f"{BASE}/tokens/{rid}.json").json == [
        {"service_request_id": rid, "token": rid}
    ]
    assert xml_of(client.get(f"{BASE}/tokens/{rid}.xml")).findtext("request/token") == rid
    assert_spec_error(client.get(f"{BASE}/requests/{uuid.uuid4()}.json"), 404)
    assert_spec_error(client.get(f"{BASE}/tokens/nope.xml"), 404, "xml")
    assert_spec_error(client.get(f"{BASE}/nothing.xml"), 404, "xml")
    resp = client.put(f"{BASE}/requests.json")
    assert_spec_error(resp, 405)
    assert resp.headers["Allow"] == "GET, POST"


def test_a_nul_in_a_request_is_a_spec_error(app: Flask, client: FlaskClient, api_key: str) -> None:
    before = case_count(app)
    assert "U+0000" in assert_spec_error(post(client, api_key, description="坑\x00"), 400)
    assert_spec_error(client.get(f"{BASE}/requests.xml?service_code=%00"), 400, "xml")
    assert case_count(app) == before


def test_any_method_gets_the_spec_format_and_an_honest_allow(client: FlaskClient) -> None:
    """Found by fuzzing: methods no route lists (TRACE, QUERY) got the app's error body, and
    OPTIONS advertised PUT, PATCH and DELETE, which all answer 405."""
    for method in ("TRACE", "QUERY", "BREW"):
        resp = client.open(f"{BASE}/discovery.json", method=method)
        assert_spec_error(resp, 405)
        assert resp.headers["Allow"] == "GET"
        assert_spec_error(client.open(f"{BASE}/requests.xml", method=method), 405, "xml")
        assert_spec_error(client.open(f"{BASE}/nothing.json", method=method), 404)
    assert client.options(f"{BASE}/requests.json").headers["Allow"] == "GET, POST"
    assert client.options(f"{BASE}/services.xml").headers["Allow"] == "GET"


def test_xml_is_well_formed_whatever_the_text(client: FlaskClient, api_key: str) -> None:
    nasty = '<b>&amp; "引号" ]]> \x01\x0b tab\tend'
    rid = post(client, api_key, description=nasty).json[0]["service_request_id"]
    for path in (f"requests/{rid}.xml", "requests.xml"):
        root = xml_of(client.get(f"{BASE}/{path}"))
        request = root.find("request")
        assert request is not None
        assert request.findtext("description") == '<b>&amp; "引号" ]]>  tab\tend'
        assert request.findtext("status") == "open"
        assert {child.tag for child in request} == REQUEST_FIELDS


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buf, "JPEG")
    return buf.getvalue()


def test_citizen_case_is_listed_without_identity(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    citizen = login_phone(client, app, CITIZEN_PHONE)
    photo = client.post(
        "/api/photos", data={"file": (io.BytesIO(_jpeg()), "p.jpg")}, headers=citizen
    )
    assert photo.status_code == 201, photo.json
    sha = photo.json["sha256"]
    case_id = str(uuid.uuid4())
    report = {
        "id": case_id,
        "category_code": MANHOLE,
        "lat": LAT,
        "lon": LON,
        "description": "井盖缺失",
        "photos": [sha],
    }
    assert client.post("/api/cases", json=report, headers=citizen).status_code == 201
    with database(app).session() as s:
        reporter = s.scalar(select(User).where(User.phone == CITIZEN_PHONE))
        assert reporter is not None
        citizen_name = reporter.display_name
    post(client, api_key, **CONTACT)

    listed = client.get(f"{BASE}/requests.json").json
    item = next(x for x in listed if x["service_request_id"] == case_id)
    assert set(item) == REQUEST_FIELDS and item["description"] == "井盖缺失"
    assert item["media_url"] is None  # photos are for people with access, not the public feed
    assert sha not in client.get(f"{BASE}/requests/{case_id}.json").get_data(as_text=True)
    ids = [x["service_request_id"] for x in listed]
    _assert_no_identity(client, ids, [*CONTACT.values(), CITIZEN_PHONE, citizen_name, DISPATCHER])


def _assert_no_identity(client: FlaskClient, ids: list[str], secrets: list[str]) -> None:
    """None of ``secrets`` (contact details, names, phones) appears in any GET body."""
    paths = [f"requests.{f}" for f in ("json", "xml")]
    for rid in ids:
        paths += [f"requests/{rid}.json", f"requests/{rid}.xml", f"tokens/{rid}.json"]
    for path in paths:
        body = client.get(f"{BASE}/{path}").get_data(as_text=True)
        if path.endswith("json"):  # "\u5e02" escapes would hide Chinese names from the check
            body = json.dumps(json.loads(body), ensure_ascii=False)
        for secret in secrets:
            assert secret not in body, (path, secret)


def test_phone_numbers_and_emails_in_citizens_text_are_masked_in_every_format(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    """Open311 is public: what people typed is published with its contacts and ID numbers
    masked (both formats, list and item), the city's grid codes kept, and the desk still
    reads it as written."""
    said = (
        "井盖缺失，请联系我13812345678或0371-65551234，邮件zhang.san@example.com，文化路88号，"
        "身份证11010519491231002X，网格410402001001001"
    )
    shown = (
        "井盖缺失，请联系我138****5678或0371-****1234，邮件z***@example.com，文化路88号，"
        "身份证110**************X，网格410402001001001"
    )
    citizen = login_phone(client, app, CITIZEN_PHONE)
    app_case = str(uuid.uuid4())
    report = {"id": app_case, "category_code": MANHOLE, "lat": LAT, "lon": LON}
    resp = client.post("/api/cases", json={**report, "description": said}, headers=citizen)
    assert resp.status_code == 201, resp.json
    filed = post(client, api_key, description=said, address_string="光明路1号 (0371)65551234")
    open311_case = filed.json[0]["service_request_id"]
    rejected = post(client, api_key, description="重复").json[0]["service_request_id"]
    desk = login(client, DISPATCHER)
    reason = "已电话13812345678告知市民（身份证410102900101123）"
    version = client.get(f"/api/cases/{rejected}", headers=desk).json["version"]
    resp = client.post(
        f"/api/cases/{rejected}/actions/reject",
        json={"version": version, "reason": reason},
        headers=desk,
    )
    assert resp.status_code == 200, resp.json

    listed = {x["service_request_id"]: x for x in client.get(f"{BASE}/requests.json").json}
    for rid in (app_case, open311_case):
        [item] = client.get(f"{BASE}/requests/{rid}.json").json
        assert item["description"] == listed[rid]["description"] == shown
        request = xml_of(client.get(f"{BASE}/requests/{rid}.xml")).find("request")
        assert request is not None and request.findtext("description") == shown
    assert listed[open311_case]["address"] == "光明路1号 (0371)****1234"
    assert "138****5678" in listed[rejected]["status_notes"]
    assert "（身份证410************）" in listed[rejected]["status_notes"]
    for request in xml_of(client.get(f"{BASE}/requests.xml")).iter("request"):
        if request.findtext("service_request_id") == app_case:
            assert request.findtext("description") == shown
    secrets = ["13812345678", "65551234", "zhang.san@", "19491231", "410102900101123", reason]
    _assert_no_identity(client, [app_case, open311_case, rejected], secrets)
    # staff still read what was written, to call the citizen back
    assert client.get(f"/api/cases/{app_case}", headers=desk).json["description"] == said
