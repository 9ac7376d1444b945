"""Who may call what: every route of the API is in ``ACCESS`` below (docs/api.md, "Who may call
what"), and these tests hold each one to it — signed out, with a dead token, with the wrong role,
and with other people's records. A refusal leaks nothing and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from server.db import database
from server.models import Supervision, User
from tests.api.case_helpers import act, ok, report, row_counts, upload_photo
from tests.console.helpers import console_client
from tests.factories import (
    ADMIN,
    CITIZEN2_PHONE,
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    HANDLER_DEPARTMENT,
    INSPECTOR,
    MERCHANT_PHONE,
    MUNICIPAL_DEPARTMENT,
    MUNICIPAL_HANDLER,
    OTHER_CELL,
    OTHER_INSPECTOR,
    OTHER_POINT,
    load_city,
    login,
    login_phone,
)

PUBLIC = "anyone"
SIGNED_IN = "signed in"
ROLES = ("citizen", "merchant", "inspector", "handler", "dispatcher", "admin")
STAFF = frozenset({"inspector", "handler", "dispatcher"})
DESK = frozenset({"dispatcher"})  # the admin passes every role check as well

# endpoint and method -> who may call it. SIGNED_IN routes reach only the caller's own records
# (tests below and in test_case_access.py, test_photos.py, tests/sync_server).
ACCESS: dict[tuple[str, str], Any] = {
    ("api-docs.openapi_json", "GET"): PUBLIC,
    ("api-docs.openapi_swagger_ui", "GET"): PUBLIC,
    ("auth.Otp", "POST"): PUBLIC,
    ("auth.OtpLogin", "POST"): PUBLIC,
    ("auth.Login", "POST"): PUBLIC,
    ("auth.Refresh", "POST"): PUBLIC,
    ("city.Areas", "GET"): PUBLIC,
    ("city.Categories", "GET"): PUBLIC,
    ("city.CategoryItem", "GET"): PUBLIC,
    ("city.Departments", "GET"): PUBLIC,
    ("city.GridLocate", "GET"): PUBLIC,
    ("auth.Logout", "POST"): SIGNED_IN,
    ("auth.Me", "GET"): SIGNED_IN,
    ("auth.Devices", "GET"): SIGNED_IN,
    ("auth.Device", "DELETE"): SIGNED_IN,
    ("cases.CaseIntake", "POST"): SIGNED_IN,
    ("cases.CaseDetail", "GET"): SIGNED_IN,
    ("cases.CaseTimeline", "GET"): SIGNED_IN,
    ("cases.CaseAction", "POST"): SIGNED_IN,
    ("cases.CaseRating", "POST"): SIGNED_IN,
    ("cases.CaseSupervision", "POST"): DESK,
    ("queue.MyCases", "GET"): SIGNED_IN,
    ("queue.Queue", "GET"): STAFF,
    ("queue.Overdue", "GET"): STAFF,
    ("queue.Tasks", "GET"): frozenset({"inspector"}),
    ("queue.Supervisions", "GET"): frozenset({"dispatcher", "handler"}),
    ("queue.SupervisionAnswer", "POST"): frozenset({"handler"}),
    ("photos.Photos", "POST"): SIGNED_IN,
    ("photos.PhotoItem", "GET"): SIGNED_IN,
    ("photos.PhotoItem", "PUT"): SIGNED_IN,
    ("photos.PhotoContent", "GET"): SIGNED_IN,
    ("photos.PhotoUploadItem", "POST"): SIGNED_IN,
    ("photos.PhotoUploadItem", "GET"): SIGNED_IN,
    ("photos.PhotoUploadItem", "PATCH"): SIGNED_IN,
    ("photos.PhotoUploadItem", "DELETE"): SIGNED_IN,
    ("sync.Push", "POST"): SIGNED_IN,
    ("sync.Pull", "POST"): SIGNED_IN,
    ("sync.Outcomes", "POST"): SIGNED_IN,
    ("indicators.Definitions", "GET"): SIGNED_IN,
    ("indicators.Indicators", "GET"): STAFF,
    **{(f"indicator_charts.{c}", "GET"): DESK for c in ("Daily", "OnTime", "Lights", "Map")},
    ("indicator_charts.SupervisionPerUnit", "GET"): DESK,
    **{
        (f"assessment.{e}", "GET"): STAFF
        for e in ("Months", "Month", "Rules", "BulletinXlsx", "Year")
    },
    **{
        (f"assessment.{e}", m): frozenset()
        for e, m in (
            ("Scores", "PUT"),
            ("Adjustments", "POST"),
            ("Adjustment", "DELETE"),
            ("Publish", "POST"),
            ("Withdraw", "POST"),
        )
    },
    **{
        (f"city.Admin{e}", m): frozenset()
        for e, m in (
            ("Catalogue", "PUT"),
            ("Departments", "PUT"),
            ("City", "PUT"),
            ("RoutingRules", "PUT"),
            ("Users", "POST"),
        )
    },
}
# A body that passes validation where the role is checked after it (in the use case).
BODIES = {("cases.CaseSupervision", "POST"): {"note": "请加快办理"}}


def api_routes(app: Flask) -> list[tuple[str, str, Any]]:
    """(endpoint, method, rule) of every route under /api."""
    return sorted(
        (rule.endpoint, method, rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def url_of(rule: Any, w: dict[str, Any]) -> str:
    """The rule's path with real ids: another person's case and photo, where it takes them."""
    values = {
        "case_id": w["case"],
        "action": "register",
        "sha256": w["photo"],
        "month": "2026-11",
        "year": 2026,
        "adjustment_id": 1,
        "supervision_id": 1,
        "token_id": 1,
        "code": "SJ0101",
    }
    return rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> dict[str, Any]:
    load_city(app)
    w: dict[str, Any] = {
        "citizen": login_phone(client, app, CITIZEN_PHONE),
        "merchant": login_phone(client, app, MERCHANT_PHONE),
        "dispatcher": login(client, DISPATCHER),
        "handler": login(client, HANDLER),
        "inspector": login(client, INSPECTOR),
        "admin": login(client, ADMIN),
    }
    w["photo"] = upload_photo(client, w["citizen"])
    w["case"] = ok(report(client, w["citizen"], photos=[w["photo"]]), 201)["case"]["id"]
    return w


def test_every_api_route_says_who_may_call_it(app: Flask) -> None:
    """A new route must be added to ACCESS (and to docs/api.md) before it can land."""
    routes = {(endpoint, method) for endpoint, method, _ in api_routes(app)}
    assert routes == set(ACCESS)


def _refused_blind(resp: Any, status: int, code: str | None, w: dict[str, Any]) -> None:
    assert resp.status_code == status, (resp.request.method, resp.request.path, resp.json)
    assert set(resp.json) == {"code", "message", "message_zh", "errors"}
    if code:
        assert resp.json["code"] == code, resp.json
    body = resp.get_data(as_text=True)
    assert CITIZEN_PHONE not in body and "光明路12号" not in body


def test_signed_out_and_dead_tokens_reach_nothing(
    app: Flask, client: FlaskClient, world: dict[str, Any], clock: Any
) -> None:
    revoked = login(client, INSPECTOR)
    assert client.post("/api/auth/logout", headers=revoked).status_code == 204
    disabled = login(client, OTHER_INSPECTOR)
    with database(app).session() as s:
        s.execute(update(User).where(User.username == OTHER_INSPECTOR).values(active=False))
    expired = login(client, DISPATCHER)
    before = row_counts(app)

    def refused(callers: list[tuple[dict[str, str], str]]) -> None:
        for endpoint, method, rule in api_routes(app):
            if ACCESS[endpoint, method] == PUBLIC:
                continue
            url = url_of(rule, world)
            for headers, code in callers:
                resp = client.open(url, method=method, headers=headers, json={"note": "x"})
                _refused_blind(resp, 401, code, world)

    refused(
        [
            ({}, "unauthorized"),
            ({"Authorization": "Bearer not-a-token"}, "unauthorized"),
            (revoked, "unauthorized"),
            (disabled, "account_disabled"),
        ]
    )
    clock.advance(seconds=app.config["ACCESS_TOKEN_SECONDS"] + 1)
    refused([(expired, "token_expired")])
    assert row_counts(app) == before


def test_roles_an_endpoint_is_not_for_are_refused(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    ok(act(client, world["dispatcher"], world["case"], "register"))
    ok(act(client, world["dispatcher"], world["case"], "dispatch"))  # the handler's case now
    before = row_counts(app)
    checked = 0
    for endpoint, method, rule in api_routes(app):
        allowed = ACCESS[endpoint, method]
        if allowed in (PUBLIC, SIGNED_IN):
            continue
        body = BODIES.get((endpoint, method), {})
        for role in ROLES:
            if role in allowed or role == "admin":
                continue
            resp = client.open(url_of(rule, world), method=method, headers=world[role], json=body)
            _refused_blind(resp, 403, "forbidden", world)
            checked += 1
    assert checked > 60
    assert row_counts(app) == before


def test_list_filters_never_widen_what_a_person_may_see(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    d = world["dispatcher"]
    # A case of another department (municipal), in another inspector's grid.
    far = ok(report(client, d, source="hotline", category_code="BJ0101"), 201)["case"]["id"]
    ok(act(client, d, far, "register"))
    ok(act(client, d, far, "dispatch", department=MUNICIPAL_DEPARTMENT))
    lat, lon = OTHER_POINT
    elsewhere = ok(report(client, d, source="hotline", lat=lat, lon=lon), 201)["case"]
    assert elsewhere["grid_code"] == OTHER_CELL

    def ids(headers: dict[str, str], url: str) -> set[str]:
        return {c["id"] for c in ok(client.get(url, headers=headers))["items"]}

    for url in ("/api/queue", "/api/queue/overdue"):
        for query in (
            f"?department={MUNICIPAL_DEPARTMENT}",
            f"?grid={OTHER_CELL}",
            "?state=dispatched&state=reported&state=closed",
            "?source=hotline",
            "?supervised=false",
        ):
            assert far not in ids(world["handler"], url + query)
            assert elsewhere["id"] not in ids(world["inspector"], url + query)
    assert ids(world["handler"], "/api/queue") == set()
    assert ids(world["inspector"], f"/api/queue?grid={OTHER_CELL}") == set()
    assert ids(world["inspector"], "/api/tasks") == set()  # nothing assigned to them yet
    for who in ("citizen", "inspector", "handler"):  # only what they reported themselves
        assert ids(world[who], "/api/my/cases") == ({world["case"]} if who == "citizen" else set())
    # A filter a list does not have is refused by name, never ignored.
    for who, url in (
        ("merchant", "/api/my/cases?reporter=1"),
        ("handler", "/api/queue?reporter=1"),
        ("handler", "/api/supervisions?department=MUNICIPAL"),
        ("inspector", "/api/tasks?inspector=1"),
    ):
        resp = client.get(url, headers=world[who])
        assert resp.status_code == 422 and resp.json["code"] == "validation_failed", url
        assert set(resp.json["errors"]) <= {"reporter", "department", "inspector"}


def test_a_supervision_note_is_its_departments_alone(
    app: Flask, client: FlaskClient, world: dict[str, Any], clock: Any
) -> None:
    d, cid = world["dispatcher"], world["case"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    clock.advance(days=3)  # overdue; everyone signs in again
    d, other, handler = (login(client, u) for u in (DISPATCHER, MUNICIPAL_HANDLER, HANDLER))
    sup = ok(
        client.post(f"/api/cases/{cid}/supervisions", json={"note": "请今日办结"}, headers=d), 201
    )
    assert ok(client.get("/api/supervisions?open=false", headers=other))["items"] == []
    before = row_counts(app)
    resp = client.post(
        f"/api/supervisions/{sup['id']}/answer", json={"answer": "好"}, headers=other
    )
    assert resp.status_code == 404 and "请今日办结" not in resp.get_data(as_text=True)
    missing = client.post("/api/supervisions/99999/answer", json={"answer": "好"}, headers=other)
    assert missing.status_code == 404 and missing.json["code"] == resp.json["code"]
    assert row_counts(app) == before
    assert ok(client.get("/api/supervisions", headers=handler))["items"][0]["answer"] is None


def test_supervision_notes_stay_with_the_unit_holding_the_case(
    app: Flask, client: FlaskClient, world: dict[str, Any], clock: Any
) -> None:
    """A case re-dispatched elsewhere takes its 督办 notes out of the old unit's reach; the new
    unit sees the desk's earlier notes on the case but not the old unit's answer, and answers
    only notes addressed to it."""
    d, cid = world["dispatcher"], world["case"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    clock.advance(days=3)  # overdue; everyone signs in again
    d, old, new = (login(client, u) for u in (DISPATCHER, HANDLER, MUNICIPAL_HANDLER))
    notes = [
        ok(client.post(f"/api/cases/{cid}/supervisions", json={"note": n}, headers=d), 201)
        for n in ("请今日办结", "市民再次来电催办")
    ]
    answered = f"/api/supervisions/{notes[0]['id']}/answer"
    ok(client.post(answered, json={"answer": "本单位人手不足，明日处理"}, headers=old))
    ok(act(client, old, cid, "return", reason="井盖不属我单位管养"))
    ok(act(client, d, cid, "dispatch", department=MUNICIPAL_DEPARTMENT))

    assert ok(client.get("/api/supervisions?open=false", headers=old))["items"] == []
    before = row_counts(app)
    for who in (old, new):  # neither the old unit nor the new one answers the old notes
        resp = client.post(
            f"/api/supervisions/{notes[1]['id']}/answer", json={"answer": "好"}, headers=who
        )
        assert resp.status_code == 404 and resp.json["code"] == "not_found"
        assert "市民再次来电催办" not in resp.get_data(as_text=True)
    assert row_counts(app) == before
    assert client.get(f"/api/cases/{cid}/timeline", headers=old).status_code == 404
    assert ok(client.get("/api/supervisions?open=false", headers=new))["items"] == []

    def answers(who: dict[str, str]) -> list[str]:
        events = ok(client.get(f"/api/cases/{cid}/timeline", headers=who))
        return [e["note"] for e in events if e["action"] in ("supervise", "answer_supervision")]

    assert answers(new) == ["请今日办结", "市民再次来电催办", ""]
    assert answers(d) == ["请今日办结", "市民再次来电催办", "本单位人手不足，明日处理"]
    desk_view = ok(client.get("/api/supervisions?open=false", headers=d))["items"]
    assert [n["id"] for n in desk_view] == [n["id"] for n in notes]
    # the unanswered note is nobody's to answer now: re-dispatched (已改派), not awaiting
    assert [n["status"] for n in desk_view] == ["answered", "superseded"]
    assert ok(client.get("/api/supervisions", headers=d))["items"] == []
    [unit] = ok(client.get("/api/indicators/charts/supervision", headers=d))["units"]
    counted = (unit["notes"], unit["answered"], unit["open_now"], unit["superseded"])
    assert counted == (2, 1, 0, 1)

    clock.advance(days=3)  # the new unit is overdue too: the desk's note now reaches it
    d, new = login(client, DISPATCHER), login(client, MUNICIPAL_HANDLER)
    ok(act(client, new, cid, "accept"))
    clock.advance(days=3)
    d, new = login(client, DISPATCHER), login(client, MUNICIPAL_HANDLER)
    note = {"note": "请尽快"}
    mine = ok(client.post(f"/api/cases/{cid}/supervisions", json=note, headers=d), 201)
    listed = ok(client.get("/api/supervisions", headers=new))["items"]
    assert [(n["id"], n["status"]) for n in listed] == [(mine["id"], "awaiting")]
    awaiting = ok(client.get("/api/supervisions", headers=d))["items"]
    assert [n["id"] for n in awaiting] == [mine["id"]]
    answer = {"answer": "已派人"}
    ok(client.post(f"/api/supervisions/{mine['id']}/answer", json=answer, headers=new))
    assert answers(new)[-1] == "已派人"


def test_a_case_no_unit_holds_is_not_supervised_and_older_unaddressed_notes_await_nothing(
    app: Flask, client: FlaskClient, world: dict[str, Any], clock: Any
) -> None:
    """督办 asks the unit that holds a case. Overdue before dispatch (the desk's own step), the
    desk is refused with a reason and nothing is written; dispatched, the note goes to the
    unit. A note written to no unit before that rule awaits nobody: the desk's list and the
    per-unit counts say so, and no department sees or answers it."""
    d, cid = world["dispatcher"], world["case"]
    ok(act(client, d, cid, "register"))
    clock.advance(days=3)  # the 0.5 h dispatch step is long overdue; everyone signs in again
    d, handler, other = (login(client, u) for u in (DISPATCHER, HANDLER, MUNICIPAL_HANDLER))
    assert ok(client.get(f"/api/cases/{cid}", headers=d))["light"] == "red"
    before = row_counts(app)
    refused = client.post(f"/api/cases/{cid}/supervisions", json={"note": "请尽快"}, headers=d)
    _refused_blind(refused, 409, "not_dispatched", world)
    assert "请先派遣" in refused.json["message_zh"]
    assert row_counts(app) == before

    # A note from before the rule, written while no unit held the case.
    with database(app).session() as s:
        by = s.scalar(select(User.id).where(User.username == DISPATCHER))
        legacy = Supervision(
            case_id=cid, department_id=None, by_id=by, note="旧督办", created_at=clock()
        )
        s.add(legacy)
        s.commit()
        legacy_id = legacy.id
    ok(act(client, d, cid, "dispatch"))
    clock.advance(days=3)  # the unit is late in turn: now the desk may supervise it
    d, handler, other = (login(client, u) for u in (DISPATCHER, HANDLER, MUNICIPAL_HANDLER))
    sent = ok(
        client.post(f"/api/cases/{cid}/supervisions", json={"note": "请今日办结"}, headers=d), 201
    )

    listed = ok(client.get("/api/supervisions?open=false", headers=d))["items"]
    assert [(n["id"], n["status"]) for n in listed] == [
        (legacy_id, "superseded"),
        (sent["id"], "awaiting"),
    ]
    assert [n["id"] for n in ok(client.get("/api/supervisions", headers=d))["items"]] == [
        sent["id"]
    ]
    units = ok(client.get("/api/indicators/charts/supervision", headers=d))["units"]
    counted = {u["key"]: (u["notes"], u["answered"], u["open_now"], u["superseded"]) for u in units}
    assert counted == {None: (1, 0, 0, 1), HANDLER_DEPARTMENT: (1, 0, 1, 0)}
    # The unit now holding the case answers its own note, not the one addressed to nobody;
    # another department sees neither.
    mine = ok(client.get("/api/supervisions?open=false", headers=handler))["items"]
    assert [n["id"] for n in mine] == [sent["id"]]
    assert ok(client.get("/api/supervisions?open=false", headers=other))["items"] == []
    before = row_counts(app)
    for who in (handler, other):
        resp = client.post(
            f"/api/supervisions/{legacy_id}/answer", json={"answer": "好"}, headers=who
        )
        _refused_blind(resp, 404, "not_found", world)
        assert "旧督办" not in resp.get_data(as_text=True)
    resp = client.post(
        f"/api/supervisions/{sent['id']}/answer", json={"answer": "好"}, headers=other
    )
    _refused_blind(resp, 404, "not_found", world)
    assert row_counts(app) == before


def test_another_persons_devices_are_out_of_reach(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    citizen2 = login_phone(client, app, CITIZEN2_PHONE)
    (theirs,) = ok(client.get("/api/auth/devices", headers=world["citizen"]))
    mine = ok(client.get("/api/auth/devices", headers=citizen2))
    assert theirs["id"] not in {d["id"] for d in mine}
    resp = client.delete(f"/api/auth/devices/{theirs['id']}", headers=citizen2)
    assert resp.status_code == 404
    missing = client.delete("/api/auth/devices/99999", headers=citizen2)
    assert missing.status_code == 404 and missing.json["code"] == resp.json["code"]
    assert ok(client.get("/api/auth/me", headers=world["citizen"]))["phone"] == CITIZEN_PHONE


def test_a_reporters_views_carry_no_staff_data(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    d, h, cid = world["dispatcher"], world["handler"], world["case"]
    ok(act(client, d, cid, "register", note="内部备注：联系片长"))
    ok(act(client, d, cid, "dispatch"))
    ok(act(client, h, cid, "accept"))
    ok(act(client, h, cid, "handle", note="已清理", photos=[upload_photo(client, h)]))
    with database(app).session() as s:
        staff = select(User.display_name).where(User.username.in_([DISPATCHER, HANDLER, INSPECTOR]))
        staff_names = list(s.scalars(staff))
    assert len(staff_names) == 3
    case = client.get(f"/api/cases/{cid}", headers=world["citizen"])
    timeline = client.get(f"/api/cases/{cid}/timeline", headers=world["citizen"])
    for resp in (case, timeline):
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and not any(n in body for n in staff_names)
        assert "内部备注" not in body and "actor_id" not in body and "inspector_id" not in body
    assert "已清理" in timeline.get_data(as_text=True)  # the department's public answer
    assert {e["by"] for e in timeline.json} == {
        "You",
        "Command centre",
        "Sanitation Administration",
    }


def test_the_console_session_is_not_an_api_token(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    desk = console_client(app, DISPATCHER)
    assert desk.get(f"/console/cases/{world['case']}").status_code == 200
    for url in (f"/api/cases/{world['case']}", "/api/queue", "/api/auth/me"):
        _refused_blind(desk.get(url), 401, "unauthorized", world)


def test_a_merge_target_the_server_did_not_offer_reveals_nothing(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    citizen2 = login_phone(client, app, CITIZEN2_PHONE)
    lat, lon = OTHER_POINT
    far = ok(report(client, world["citizen"], lat=lat, lon=lon), 201)["case"]["id"]
    mine = ok(report(client, citizen2), 201)
    assert [c["id"] for c in mine["same_problem"]] == [world["case"]]
    before = row_counts(app)
    answers = []
    for target in (far, "00000000-0000-4000-8000-000000000000", mine["case"]["id"]):
        resp = act(client, citizen2, mine["case"]["id"], "merge", version=1, target=target)
        answers.append((resp.status_code, resp.json["code"]))
        assert far not in resp.get_data(as_text=True)
    assert answers[:2] == [(403, "forbidden")] * 2 and answers[2][0] == 422
    assert row_counts(app) == before


def test_sync_mutations_reach_only_the_callers_cases(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    from sync.case_mutations import ACTION, ATTACH_PHOTO, RATE
    from tests.sync_server.helpers import push

    citizen2 = login_phone(client, app, CITIZEN2_PHONE)
    other = login(client, MUNICIPAL_HANDLER)
    photo = upload_photo(client, citizen2)
    cid = world["case"]
    before = row_counts(app)
    for n, (headers, mutation, args) in enumerate(
        (
            (citizen2, ATTACH_PHOTO, {"case_id": cid, "photos": [photo]}),
            (citizen2, RATE, {"case_id": cid, "stars": 1}),
            (citizen2, ACTION, {"case_id": cid, "action": "merge", "target": cid}),
            (other, ACTION, {"case_id": cid, "action": "register"}),
            (other, ATTACH_PHOTO, {"case_id": cid, "photos": [photo], "kind": "after"}),
        )
    ):
        (result,) = ok(push(client, headers, f"phone-{n}", (1, mutation, args)))["results"]
        assert (result["status"], result["code"]) == ("refused", "case_not_found")
        assert CITIZEN_PHONE not in str(result)
    after = row_counts(app)
    assert {t: n for t, n in after.items() if after[t] != before[t]}.keys() <= {
        "sync_receipts",
        "sync_clients",
    }


def test_a_department_cannot_file_cases_as_the_desks_channels(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    """A department handler handles cases; it does not file them. Before, it fell into the
    command centre's branch: it could file hotline, Open311, 门前三包 and toilet cases that
    counted in the desk's channels, with no reporter, and then got 404 on its own case."""
    from sync.case_mutations import REPORT
    from tests.api.case_helpers import report_body
    from tests.sync_server.helpers import push

    handler, desk = world["handler"], world["dispatcher"]
    before = row_counts(app)
    for source in ("hotline", "open311", "frontage", "toilet", None):
        resp = report(client, handler, **({"source": source} if source else {}))
        assert resp.status_code == 403 and resp.json["code"] == "forbidden", (source, resp.json)
        assert "message_zh" in resp.json
    (result,) = ok(push(client, handler, "handler-phone", (1, REPORT, report_body())))["results"]
    assert (result["status"], result["code"]) == ("refused", "forbidden")
    after = row_counts(app)
    assert {t for t in after if after[t] != before[t]} <= {"sync_receipts", "sync_clients"}
    assert ok(report(client, desk, source="hotline"), 201)["case"]["source"] == "hotline"


def test_photos_are_seen_only_with_their_case(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    """A photo goes as far as its case: the reporter, the department it is with, the grid's
    inspector and the desk; the untouched original only to its uploader and the desk."""
    d, h, cid = world["dispatcher"], world["handler"], world["case"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    ok(act(client, h, cid, "accept"))
    after = upload_photo(client, h)
    ok(act(client, h, cid, "handle", note="已清理", photos=[after]))
    report_photo = world["photo"]
    strangers = {
        "citizen2": login_phone(client, app, CITIZEN2_PHONE),
        "other handler": login(client, MUNICIPAL_HANDLER),
        "other inspector": login(client, OTHER_INSPECTOR),
    }

    def status(headers: dict[str, str], sha: str, variant: str) -> int:
        resp = client.get(f"/api/photos/{sha}/content?variant={variant}", headers=headers)
        resp.close()
        return resp.status_code

    for who, headers in strangers.items():
        for sha in (report_photo, after):
            meta = client.get(f"/api/photos/{sha}", headers=headers)
            assert meta.status_code == 404 and meta.json["code"] == "photo_not_found", who
            for variant in ("public", "thumb", "original"):
                assert status(headers, sha, variant) == 404, (who, variant)
    console = console_client(app, MUNICIPAL_HANDLER)
    assert console.get(f"/console/photos/{after}/thumb").status_code == 404
    seen = {
        "citizen": (200, 200, 404),  # the report photo is theirs: every variant
        "handler": (200, 200, 200),  # they took it
        "inspector": (200, 200, 404),
        "dispatcher": (200, 200, 200),
    }
    for who, expected in seen.items():
        got = tuple(status(world[who], after, v) for v in ("public", "thumb", "original"))
        assert got == expected, who
        assert status(world[who], report_photo, "thumb") == 200, who
    assert status(world["citizen"], report_photo, "original") == 200
    assert status(world["handler"], report_photo, "original") == 404


def test_offline_photos_are_attached_only_as_the_callers_own_evidence(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    """``attach_photo.v1`` names a kind: a reporter adds to the report, an inspector
    verification or check photos, a department its before/after pictures; the desk any."""
    from sync.case_mutations import ATTACH_PHOTO
    from tests.sync_server.helpers import push

    d, cid = world["dispatcher"], world["case"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    sent: dict[str, int] = {}

    def attach(who: str, kind: str) -> dict[str, Any]:
        photo = upload_photo(client, world[who])
        args = {"case_id": cid, "photos": [photo], "kind": kind}
        sent[who] = seq = sent.get(who, 0) + 1
        (result,) = ok(push(client, world[who], who, (seq, ATTACH_PHOTO, args)))["results"]
        return result  # type: ignore[no-any-return]

    before = row_counts(app)["case_photos"]
    for who, kind in (
        ("citizen", "after"),
        ("citizen", "check"),
        ("inspector", "after"),
        ("inspector", "report"),  # the grid's inspector did not report this case
        ("handler", "check"),
        ("handler", "report"),
    ):
        result = attach(who, kind)
        assert (result["status"], result["code"]) == ("refused", "forbidden"), (who, kind)
    assert row_counts(app)["case_photos"] == before
    for who, kind in (
        ("citizen", "report"),
        ("inspector", "check"),
        ("handler", "before"),
        ("dispatcher", "verify"),
    ):
        assert attach(who, kind)["status"] == "applied", (who, kind)
    assert row_counts(app)["case_photos"] == before + 4


def test_only_a_reporting_citizen_rates_the_result(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    """满意率 is the public's verdict: an inspector who collected a case may not rate it."""
    d, h, i = world["dispatcher"], world["handler"], world["inspector"]
    collected = ok(report(client, i, photos=[upload_photo(client, i)]), 201)["case"]["id"]
    for cid in (collected, world["case"]):
        ok(act(client, d, cid, "register"))
        ok(act(client, d, cid, "dispatch"))
        ok(act(client, h, cid, "accept"))
        ok(act(client, h, cid, "handle", photos=[upload_photo(client, h)]))
        ok(act(client, d, cid, "request_check", inspector_id=None))
        ok(act(client, i, cid, "check", passed=True, photos=[upload_photo(client, i)]))
    before = row_counts(app)
    for who in ("inspector", "dispatcher", "handler"):
        resp = client.post(f"/api/cases/{collected}/rating", json={"stars": 5}, headers=world[who])
        assert resp.status_code == 403 and resp.json["code"] == "forbidden", who
    assert row_counts(app) == before
    rated = client.post(
        f"/api/cases/{world['case']}/rating", json={"stars": 4}, headers=world["citizen"]
    )
    assert ok(rated)["rating"] == 4


def test_a_returned_case_is_back_with_the_desk_and_its_notes_await_nobody_until_redispatched(
    app: Flask, client: FlaskClient, world: dict[str, Any], clock: Any
) -> None:
    """A unit that returns a case (回退) hands it back to the desk though the case still names
    it: the desk cannot 督办 it then (409, nothing written), the unit's unanswered note on it
    is superseded and out of its reach, and dispatched back to that unit the note awaits its
    answer again."""
    d, cid = world["dispatcher"], world["case"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    clock.advance(days=3)  # the unit is late: the desk supervises it
    d, handler = login(client, DISPATCHER), login(client, HANDLER)
    sent = ok(
        client.post(f"/api/cases/{cid}/supervisions", json={"note": "请今日办结"}, headers=d), 201
    )
    ok(act(client, handler, cid, "return", reason="井盖不属我单位管养"))
    clock.advance(days=3)  # back with the desk, whose dispatch step is now late too
    d, handler = login(client, DISPATCHER), login(client, HANDLER)

    before = row_counts(app)
    refused = client.post(f"/api/cases/{cid}/supervisions", json={"note": "请尽快"}, headers=d)
    _refused_blind(refused, 409, "returned_to_desk", world)
    assert "请重新派遣" in refused.json["message_zh"]
    listed = ok(client.get("/api/supervisions?open=false", headers=d))["items"]
    assert [(n["id"], n["status"]) for n in listed] == [(sent["id"], "superseded")]
    assert ok(client.get("/api/supervisions", headers=d))["items"] == []  # awaiting: none
    [unit] = ok(client.get("/api/indicators/charts/supervision", headers=d))["units"]
    assert (unit["notes"], unit["open_now"], unit["superseded"]) == (1, 0, 1)
    assert ok(client.get("/api/supervisions?open=false", headers=handler))["items"] == []
    answer = f"/api/supervisions/{sent['id']}/answer"
    resp = client.post(answer, json={"answer": "已处理"}, headers=handler)
    _refused_blind(resp, 404, "not_found", world)
    assert row_counts(app) == before

    ok(act(client, d, cid, "dispatch"))  # back to the same unit: the note is its own again
    mine = ok(client.get("/api/supervisions", headers=handler))["items"]
    assert [(n["id"], n["status"]) for n in mine] == [(sent["id"], "awaiting")]
    ok(client.post(answer, json={"answer": "已派人处理"}, headers=handler))
