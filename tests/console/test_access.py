"""Each role sees its own work: a handler cannot open, act on or even learn of another
department's case, nor use the desk's pages and actions."""

from __future__ import annotations

from tests.api.case_helpers import act, ok, report
from tests.console.helpers import case_action, console_client, post_form, text
from tests.factories import DISPATCHER, HANDLER, MUNICIPAL_HANDLER


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
