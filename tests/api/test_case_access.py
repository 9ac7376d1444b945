"""Other people's cases are out of reach: refused, and nothing about them leaks."""

from __future__ import annotations

import json

import pytest

from tests.api.case_helpers import act, ok, report, upload_photo
from tests.factories import (
    CITIZEN2_PHONE,
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    MERCHANT_PHONE,
    MUNICIPAL_HANDLER,
    OTHER_INSPECTOR,
    load_city,
    login,
    login_phone,
)
from tests.sync_server.helpers import pull_all


@pytest.fixture
def world(app, client):
    load_city(app)
    w = {
        "citizen": login_phone(client, app, CITIZEN_PHONE),
        "citizen2": login_phone(client, app, CITIZEN2_PHONE),
        "merchant": login_phone(client, app, MERCHANT_PHONE),
        "dispatcher": login(client, DISPATCHER),
        "handler": login(client, HANDLER),
        "other_handler": login(client, MUNICIPAL_HANDLER),
        "inspector": login(client, INSPECTOR),
        "other_inspector": login(client, OTHER_INSPECTOR),
    }
    w["case"] = ok(report(client, w["citizen"], photos=[upload_photo(client, w["citizen"])]), 201)[
        "case"
    ]
    return w


@pytest.mark.parametrize("who", ["citizen2", "merchant", "other_inspector", "handler"])
def test_strangers_cannot_read_a_case(client, world, who):
    cid = world["case"]["id"]
    for url in (f"/api/cases/{cid}", f"/api/cases/{cid}/timeline"):
        resp = client.get(url, headers=world[who])
        assert resp.status_code == 404 and resp.json["code"] == "case_not_found"
        assert cid not in resp.get_data(as_text=True)


@pytest.mark.parametrize("who", ["citizen2", "merchant", "other_inspector"])
def test_strangers_cannot_act_on_a_case(client, world, who):
    cid = world["case"]["id"]
    for action in ("register", "reject", "merge", "reopen"):
        resp = act(client, world[who], cid, action, version=1, reason="x", target=cid)
        assert resp.status_code == 404, (action, resp.json)
    resp = client.post(f"/api/cases/{cid}/rating", json={"stars": 1}, headers=world[who])
    assert resp.status_code == 404


def test_strangers_do_not_see_it_in_lists(client, world):
    cid = world["case"]["id"]
    for who in ("citizen2", "merchant"):
        assert ok(client.get("/api/my/cases", headers=world[who]))["items"] == []
        assert client.get("/api/queue", headers=world[who]).status_code == 403
    assert ok(client.get("/api/queue", headers=world["other_inspector"]))["items"] == []
    assert ok(client.get("/api/queue", headers=world["handler"]))["items"] == []
    assert [x["id"] for x in ok(client.get("/api/queue", headers=world["inspector"]))["items"]] == [
        cid
    ]  # the case lies in this inspector's grid


def test_citizen_cannot_do_staff_work_on_own_case(client, world):
    cid = world["case"]["id"]
    for action in ("register", "dispatch", "request_verify", "handle", "accept"):
        resp = act(client, world["citizen"], cid, action, version=1)
        assert resp.status_code == 403, action
    assert ok(client.get(f"/api/cases/{cid}", headers=world["citizen"]))["state"] == "reported"


def test_handler_of_another_department_cannot_touch_a_dispatched_case(client, world):
    d, cid = world["dispatcher"], world["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    other = world["other_handler"]
    assert client.get(f"/api/cases/{cid}", headers=other).status_code == 404
    assert act(client, other, cid, "accept", version=3).status_code == 404
    assert ok(act(client, world["handler"], cid, "accept"))["state"] == "handling"


def test_unassigned_inspector_cannot_verify(client, world):
    d, cid = world["dispatcher"], world["case"]["id"]
    ok(act(client, d, cid, "request_verify"))
    resp = act(
        client,
        world["other_inspector"],
        cid,
        "verify",
        version=2,
        confirmed=True,
        photos=[upload_photo(client, world["other_inspector"])],
    )
    assert resp.status_code == 404


def test_reporter_identity_is_for_the_command_centre_only(client, world):
    cid = world["case"]["id"]
    d, i = world["dispatcher"], world["inspector"]
    assert ok(client.get(f"/api/cases/{cid}", headers=d))["reporter"]["phone"] == CITIZEN_PHONE
    for who in ("inspector", "citizen"):
        body = client.get(f"/api/cases/{cid}", headers=world[who]).get_data(as_text=True)
        assert CITIZEN_PHONE not in body and '"reporter"' not in body
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))
    body = client.get(f"/api/cases/{cid}", headers=world["handler"]).get_data(as_text=True)
    assert CITIZEN_PHONE not in body
    assert CITIZEN_PHONE not in client.get(f"/api/cases/{cid}/timeline", headers=i).get_data(
        as_text=True
    )


def test_merged_reporters_do_not_see_each_other(client, world):
    c1, c2 = world["citizen"], world["citizen2"]
    first = world["case"]["id"]
    second = ok(report(client, c2), 201)
    assert first in [x["id"] for x in second["same_problem"]]
    # The second citizen accepts the "same problem?" offer themselves.
    merged = ok(act(client, c2, second["case"]["id"], "merge", target=first))
    assert merged["state"] == "merged"
    body = client.get(f"/api/cases/{first}/timeline", headers=c2).get_data(as_text=True)
    assert CITIZEN_PHONE not in body and "市民1" not in body
    assert ok(client.get(f"/api/cases/{first}", headers=c2))["id"] == first
    # ...but may not merge into a case the server would not offer.
    far = ok(report(client, c2, lat=33.7700, lon=113.2400), 201)["case"]["id"]
    third = ok(report(client, c2), 201)["case"]["id"]
    assert act(client, c2, third, "merge", target=far).status_code == 403
    assert client.get(f"/api/cases/{far}", headers=c1).status_code == 404


def test_the_same_problem_offer_shows_other_peoples_addresses_masked(client, world):
    """The "same problem?" list names nearby open cases of other people: a citizen reads
    their addresses with phone and ID numbers masked; staff filing a case read them as is."""
    c1, c2, i = world["citizen"], world["citizen2"], world["inspector"]
    address = "光明路12号 13912345678 身份证11010519491231002X"
    first = ok(report(client, c1, address=address), 201)["case"]["id"]
    offer = ok(report(client, c2), 201)["same_problem"]
    (mine,) = [x for x in offer if x["id"] == first]
    assert mine["address"] == "光明路12号 139****5678 身份证110**************X"
    photo = upload_photo(client, i)
    staff = ok(report(client, i, photos=[photo]), 201)["same_problem"]
    assert [x["address"] for x in staff if x["id"] == first] == [address]


def test_reporters_of_a_merged_case_read_each_others_words_masked(client, world):
    """Once another citizen's report is merged into a case, its reporters read its text with
    phone and ID numbers masked (as Open311 publishes it): over REST, in the timeline and on
    the phone (one device record for all of them); the desk still reads it as written."""
    c1, c2, desk = world["citizen"], world["citizen2"], world["dispatcher"]
    said = "井盖没了，请联系我13912345678，身份证11010519491231002X，网格410402001001001"
    shown = "井盖没了，请联系我139****5678，身份证110**************X，网格410402001001001"
    first = ok(report(client, c1, description=said, address="光明路12号 0371-65551234"), 201)
    fid = first["case"]["id"]
    assert first["case"]["description"] == said  # only its writer reads it so far
    assert ok(client.get(f"/api/cases/{fid}", headers=c1))["description"] == said
    second = ok(report(client, c2), 201)["case"]["id"]
    ok(act(client, c2, second, "merge", target=fid))
    reason = "市民13912345678反映的问题已由他案处理"
    ok(act(client, desk, fid, "reject", reason=reason))

    for who in (c1, c2):
        view = ok(client.get(f"/api/cases/{fid}", headers=who))
        assert view["description"] == shown
        assert view["address"] == "光明路12号 0371-****1234"
        assert view["reject_reason"] == "市民139****5678反映的问题已由他案处理"
        timeline = client.get(f"/api/cases/{fid}/timeline", headers=who).get_data(as_text=True)
        assert "13912345678" not in timeline and "139****5678" in timeline
    changes, _, _ = pull_all(client, c2, "c2-phone")
    [mine] = [c for c in changes if c["collection"] == "my_reports" and c["id"] == fid]
    assert mine["data"]["description"] == shown
    assert "13912345678" not in json.dumps(mine)
    staff = ok(client.get(f"/api/cases/{fid}", headers=desk))
    assert (staff["description"], staff["reject_reason"]) == (said, reason)
