"""Each role sees its own work: a handler cannot open, act on or even learn of another
department's case, nor use the desk's pages and actions."""

from __future__ import annotations

from tests.api.case_helpers import act, ok, report
from tests.console.helpers import case_action, console_client, post_form, text
from tests.factories import CITIZEN_PHONE, DISPATCHER, HANDLER, MUNICIPAL_HANDLER


def _dispatched(client, city, department: str, **overrides) -> str:
    d = city["dispatcher"]
    cid = ok(report(client, d, source="hotline", **overrides), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch", department=department))
    return cid


def test_a_handler_cannot_open_another_departments_case(app, client, city):
    theirs = _dispatched(client, city, "MUNICIPAL", category_code="BJ0101")
    mine = _dispatched(client, city, "SANITATION")
    handler = console_client(app, HANDLER)
    assert handler.get(f"/console/cases/{mine}").status_code == 200
    resp = handler.get(f"/console/cases/{theirs}")
    assert resp.status_code == 404 and "案件不存在或无权查看" in text(resp)
    # ... nor act on it: the same 404, and nothing changes.
    assert case_action(handler, theirs, "accept", 3).status_code == 404
    assert (
        ok(client.get(f"/api/cases/{theirs}", headers=city["dispatcher"]))["state"] == "dispatched"
    )
    assert console_client(app, MUNICIPAL_HANDLER).get(f"/console/cases/{theirs}").status_code == 200


def test_a_handler_cannot_take_the_desks_actions(app, client, city):
    cid = _dispatched(client, city, "SANITATION")
    handler = console_client(app, HANDLER)
    page = text(handler.get(f"/console/cases/{cid}"))
    assert 'id="do-accept"' in page and 'id="do-return"' in page
    assert "do-dispatch" not in page and "do-supervise" not in page
    assert case_action(handler, cid, "dispatch", 3, department="MUNICIPAL").status_code == 403
    sup = post_form(handler, f"/console/cases/{cid}/supervise", "/console/supervision", note="催办")
    assert sup.status_code == 403
    for desk_list in ("new", "dispatch", "returned", "check"):
        assert handler.get(f"/console/queue/{desk_list}").status_code == 404
    assert handler.get("/console/queue/nonsense").status_code == 404
    assert handler.get("/console/map").status_code == 403  # the city map is the desk's


def test_the_desk_cannot_take_a_departments_actions(app, client, city):
    cid = _dispatched(client, city, "SANITATION")
    desk = console_client(app, DISPATCHER)
    page = text(desk.get(f"/console/cases/{cid}"))
    assert "do-accept" not in page and "do-handle" not in page
    assert case_action(desk, cid, "accept", 3).status_code == 403


def test_photos_are_served_to_signed_in_staff_only(app, client, city):
    from tests.api.case_helpers import upload_photo

    sha = upload_photo(client, city["citizen"])
    ok(report(client, city["citizen"], photos=[sha]), 201)
    anonymous = app.test_client().get(f"/console/photos/{sha}/thumb")
    assert anonymous.status_code == 302
    desk = console_client(app, DISPATCHER)
    with desk.get(f"/console/photos/{sha}/thumb") as resp:
        assert resp.status_code == 200
    assert desk.get(f"/console/photos/{sha}/bogus").status_code == 404
    assert desk.get(f"/console/photos/{'0' * 64}/thumb").status_code == 404
    handler = console_client(app, HANDLER)
    assert handler.get(f"/console/photos/{sha}/original").status_code == 404  # desk only


def test_every_page_and_form_needs_a_console_session(app, client, city):
    """Signed out (or with only an API token), every console route sends the browser to
    sign in — forms without their CSRF token are refused first — and writes nothing."""
    from server.console.session import OPEN_ENDPOINTS
    from tests.api.case_helpers import row_counts, upload_photo
    from tests.console.helpers import page_token

    sha = upload_photo(client, city["citizen"])
    cid = ok(report(client, city["citizen"], photos=[sha]), 201)["case"]["id"]
    values = {"case_id": cid, "action": "register", "sha256": sha, "variant": "thumb"}
    values |= {"month": "2026-11", "view": "open", "supervision_id": 1, "item": 1}
    browser = app.test_client()
    token = page_token(browser)  # a signed-out session's own token
    before = row_counts(app)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint in OPEN_ENDPOINTS:
            continue
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            form = {"version": "1", "note": "x", "answer": "x"}
            if method == "POST":
                assert browser.post(url, data=form).status_code == 400, url  # no CSRF token
                form["csrf_token"] = token
            for headers in ({}, city["dispatcher"]):  # an API token is no console session
                resp = browser.open(url, method=method, data=form, headers=headers)
                assert resp.status_code == 302, (method, url, resp.status_code)
                assert resp.headers["Location"].startswith("/console/login")
                assert CITIZEN_PHONE not in text(resp)
    assert row_counts(app) == before
