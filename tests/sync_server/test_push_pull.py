"""Push and pull over the HTTP edge, on SQLite and PostgreSQL, with the real case use cases."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.db import database
from server.models import Case
from sync.case_mutations import ACTION, ATTACH_PHOTO, REPORT, VERIFY
from tests.api.case_helpers import act, ok, report, upload_photo
from tests.factories import (
    CITIZEN2_PHONE,
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    MUNICIPAL_DEPARTMENT,
    OTHER_INSPECTOR,
    load_city,
    login,
    login_phone,
)

from .helpers import device, pull_all, push, report_args


def _cases(app: Flask) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_a_replayed_push_applies_once_and_answers_the_same(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    insp = login(client, INSPECTOR)
    args = report_args(photos=[upload_photo(client, insp)])
    first = ok(push(client, insp, "phone-1", (1, REPORT, args)))["results"]
    again = ok(push(client, insp, "phone-1", (1, REPORT, args)))["results"]
    assert [r["status"] for r in first + again] == ["applied", "duplicate"]
    assert again[0]["result"] == first[0]["result"] and again[0]["changes"] == first[0]["changes"]
    assert {c["collection"] for c in first[0]["changes"]} == {"cases", "my_reports"}
    assert _cases(app) == 1


def test_a_refusal_is_readable_and_never_blocks_what_follows(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    insp = login(client, INSPECTOR)
    phone = device(app, client, insp)
    photo = upload_photo(client, insp)
    phone.record(REPORT, report_args(photos=[photo]))
    phone.record(VERIFY, {"case_id": "no-such-case", "confirmed": True, "photos": [photo]})
    phone.record(REPORT, report_args(photos=["f" * 64]))  # never uploaded
    phone.record(REPORT, report_args(photos=[photo], description="第二处"))
    result = phone.sync()
    assert (result.ok, result.pushed, result.refused) == (True, 2, 2)
    attention = phone.needs_attention()
    assert [e.code for e in attention] == ["case_not_found", "unknown_photo"]
    assert all(e.message and e.message_zh for e in attention)
    shown = phone.all("my_reports")  # the refused report stays on the phone until discarded
    assert sorted(r["state"] for r in shown.values()) == ["reported", "reported", "waiting"]
    assert _cases(app) == 2


def test_an_offline_transition_no_longer_valid_is_refused_with_the_reason(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    insp, disp = login(client, INSPECTOR), login(client, DISPATCHER)
    case_id = ok(report(client, citizen), 201)["case"]["id"]
    ok(act(client, disp, case_id, "request_verify"))  # a task for the grid's inspector
    phone = device(app, client, insp)
    assert phone.sync().ok and phone.get("cases", case_id)["state"] == "verifying"  # type: ignore[index]
    photo = upload_photo(client, insp)
    phone.record(VERIFY, {"case_id": case_id, "confirmed": True, "photos": [photo]})
    ok(act(client, disp, case_id, "register"))  # meanwhile the command centre registers it
    phone.sync()
    (refused,) = phone.needs_attention()
    assert refused.code == "wrong_state" and "已立案" in (refused.message_zh or "")
    assert phone.get("cases", case_id)["state"] == "registered"  # type: ignore[index]


def test_pulls_are_scoped_to_what_each_user_may_see(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    other = login_phone(client, app, CITIZEN2_PHONE)
    insp, far = login(client, INSPECTOR), login(client, OTHER_INSPECTOR)
    case = ok(report(client, citizen), 201)["case"]  # a web write: published as well
    mine, _, reset = pull_all(client, citizen, "c1")
    assert reset and [
        (c["collection"], c["id"]) for c in mine if c["collection"] != "categories"
    ] == [("my_reports", case["id"])]
    assert "inspector_id" not in mine[-1]["data"]  # the reporter's view has no staff fields
    assert any(c["collection"] == "categories" for c in mine)  # public reference data
    theirs, _, _ = pull_all(client, other, "c2")
    assert all(c["collection"] == "categories" for c in theirs)
    grid, _, _ = pull_all(client, insp, "i1")
    assert [c["id"] for c in grid if c["collection"] == "cases"] == [case["id"]]
    elsewhere, _, _ = pull_all(client, far, "i2")
    assert [c for c in elsewhere if c["collection"] == "cases"] == []


def test_a_case_dispatched_away_leaves_the_department_as_a_removal(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    citizen, disp, handler = (
        login_phone(client, app, CITIZEN_PHONE),
        login(client, DISPATCHER),
        login(client, HANDLER),
    )
    case_id = ok(report(client, citizen), 201)["case"]["id"]
    ok(act(client, disp, case_id, "register"))
    ok(act(client, disp, case_id, "dispatch"))
    seen, cursor, _ = pull_all(client, handler, "h1")
    assert [(c["id"], c["op"]) for c in seen if c["collection"] == "cases"] == [(case_id, "upsert")]
    (returned,) = ok(
        push(
            client,
            handler,
            "h1",
            (1, ACTION, {"case_id": case_id, "action": "return", "reason": "非本单位"}),
        )
    )["results"]
    assert returned["status"] == "applied"
    ok(act(client, disp, case_id, "dispatch", department=MUNICIPAL_DEPARTMENT))
    later, _, _ = pull_all(client, handler, "h1", cursor)
    assert [(c["id"], c["op"]) for c in later] == [(case_id, "remove")]


def test_own_pushes_are_echoed_not_pulled_again(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    insp, disp = login(client, INSPECTOR), login(client, DISPATCHER)
    _, cursor, _ = pull_all(client, insp, "mine")
    args = report_args(photos=[upload_photo(client, insp)])
    (result,) = ok(push(client, insp, "mine", (1, REPORT, args)))["results"]
    assert {c["id"] for c in result["changes"]} == {args["id"]}
    again, cursor, _ = pull_all(client, insp, "mine", cursor)
    assert again == []
    ok(act(client, disp, args["id"], "register"))  # someone else changes it: that comes back
    later, _, _ = pull_all(client, insp, "mine", cursor)
    assert sorted((c["collection"], c["data"]["state"]) for c in later) == [
        ("cases", "registered"),
        ("my_reports", "registered"),
    ]


def test_a_nul_in_a_mutation_refuses_that_mutation_alone(app: Flask, client: FlaskClient) -> None:
    """PostgreSQL cannot store U+0000: it was a store failure there, retried for ever."""
    load_city(app)
    insp = login(client, INSPECTOR)
    photo = upload_photo(client, insp)
    resp = push(
        client,
        insp,
        "phone-nul",
        (1, REPORT, report_args(photos=[photo], description="垃圾\x00堆")),
        (2, REPORT, report_args(photos=[photo])),
    )
    results = ok(resp)["results"]
    assert [r["status"] for r in results] == ["refused", "applied"], results
    assert results[0]["code"] == "validation_failed" and results[0]["message_zh"]
    assert _cases(app) == 1


def test_envelope_errors_use_the_one_error_shape(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    insp, other = login(client, INSPECTOR), login(client, OTHER_INSPECTOR)
    old = client.post("/api/sync/pull", json={"protocol": 0, "client_id": "x"}, headers=insp)
    assert old.status_code == 426 and old.json["code"] == "unsupported_protocol"
    assert "更新" in old.json["message_zh"] and "update" in old.json["message"]
    bad = client.post(
        "/api/sync/push", json={"protocol": 1, "client_id": "x", "mutations": [{}]}, headers=insp
    )
    assert bad.status_code == 400 and "mutations[0].client_id" in bad.json["errors"]
    args = report_args(photos=[upload_photo(client, insp)])
    ok(push(client, insp, "taken", (1, REPORT, args)))
    stolen = push(client, other, "taken", (2, REPORT, args))
    assert stolen.status_code == 403 and stolen.json["code"] == "forbidden"
    anonymous = client.post("/api/sync/pull", json={"protocol": 1, "client_id": "x"})
    assert anonymous.status_code == 401 and set(anonymous.json) >= {"code", "message_zh"}


def test_a_store_failure_is_503_and_nothing_is_receipted(
    app: Flask, client: FlaskClient, monkeypatch: object
) -> None:
    from sqlalchemy.exc import OperationalError

    from server.sync_store import SqlServerTx

    load_city(app)
    insp = login(client, INSPECTOR)
    args = report_args(photos=[upload_photo(client, insp)])

    def down(self: object, *a: object) -> None:
        raise OperationalError("UPDATE sync_counter", {}, Exception("server closed the connection"))

    monkeypatch.setattr(SqlServerTx, "append_changes", down)  # type: ignore[attr-defined]
    failed = push(client, insp, "p", (1, REPORT, args))
    assert failed.status_code == 503 and failed.json["code"] == "internal_error"
    monkeypatch.undo()  # type: ignore[attr-defined]
    (result,) = ok(push(client, insp, "p", (1, REPORT, args)))["results"]
    assert result["status"] == "applied" and _cases(app) == 1


def test_a_new_case_reaches_devices_with_its_photos_and_reporter(
    app: Flask, client: FlaskClient
) -> None:
    """Publishing a case created in the same transaction uses what it wrote, not a re-read."""
    load_city(app)
    citizen, insp = login_phone(client, app, CITIZEN_PHONE), login(client, INSPECTOR)
    first, second = upload_photo(client, citizen), upload_photo(client, citizen)
    case = ok(report(client, citizen, photos=[first, second]), 201)["case"]
    mine, _, _ = pull_all(client, citizen, "c1")
    (copy,) = [c for c in mine if c["collection"] == "my_reports"]
    assert copy["id"] == case["id"]
    assert [p["sha256"] for p in copy["data"]["photos"]] == [first, second]
    grid, _, _ = pull_all(client, insp, "i1")
    (staff,) = [c for c in grid if c["collection"] == "cases"]
    assert [p["sha256"] for p in staff["data"]["photos"]] == [first, second]


def test_a_refused_photo_in_a_batch_is_not_published_with_the_new_case(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    insp = login(client, INSPECTOR)
    photo = upload_photo(client, insp)
    args = report_args(photos=[photo])
    results = ok(
        push(
            client,
            insp,
            "dev",
            (1, REPORT, args),
            (2, ATTACH_PHOTO, {"case_id": args["id"], "photos": ["0" * 64], "kind": "report"}),
        )
    )["results"]
    assert [r["status"] for r in results] == ["applied", "refused"]
    seen, _, _ = pull_all(client, login(client, DISPATCHER), "d1")
    (staff,) = [c for c in seen if c["collection"] == "cases"]
    assert [p["sha256"] for p in staff["data"]["photos"]] == [photo]
