"""The intake's cheap path (a new report without photos: ``case_intake.file_new``, no ORM
object, the answer made without marshmallow, the device copies queued and written by
``sync_publish.drain``) answers and publishes exactly what the general path does."""

from __future__ import annotations

from sqlalchemy import func, select

from server.api.cases import ReportOut
from server.db import database
from server.models.sync import SyncChange, SyncRecord
from server.sync_publish import publish_all
from tests.api.case_helpers import ok, report, upload_photo
from tests.factories import INSPECTOR_POINT

NEAR = 0.00005  # ~5 m of latitude: inside the duplicate radius


def _changes(app) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(SyncChange)) or 0)


def test_the_answer_is_the_case_as_its_reporter_reads_it(client, people, clock):
    c, d, i = people["citizen"], people["dispatcher"], people["inspector"]
    photo = upload_photo(client, i)
    first = report(client, d, source="hotline")  # cheap path, a staff reporter
    second = report(client, c, description="同一堆垃圾")  # cheap path, near the first
    third = report(client, i, photos=[photo])  # with photos: the general path
    clock.advance(minutes=1)
    for resp, who in ((first, d), (second, c), (third, i)):
        answer = ok(resp, 201)
        assert set(answer) == set(ReportOut().fields)
        read = ok(client.get(f"/api/cases/{answer['case']['id']}", headers=who))
        assert answer["case"] == read  # the detail view: a CaseOut dump by marshmallow
    nearby = ok(second, 201)["same_problem"]
    before = ok(client.get(f"/api/cases/{ok(first, 201)['case']['id']}", headers=d))
    assert nearby == [
        {
            "id": before["id"],
            "category_code": before["category"]["code"],
            "state": before["state"],
            "distance_m": 0.0,
            "address": before["address"],
            "reported_at": before["created_at"],
        }
    ]


def test_devices_get_what_publishing_the_case_again_would_give(app, client, people, clock):
    """Publishing every case again through the ORM path logs no change: the cheap path's
    queued publication wrote the same views to the same audiences (staff, reporter)."""
    c, d = people["citizen"], people["dispatcher"]
    ids = [
        ok(report(client, c), 201)["case"]["id"],
        ok(report(client, d, source="toilet"), 201)["case"]["id"],
    ]
    assert app.extensions["cgt_publish_queue"].drain() == 2
    with database(app).session() as s:
        views = {(r.collection, r.record_id) for r in s.scalars(select(SyncRecord))}
    assert {("cases", i) for i in ids} <= views
    assert ("my_reports", ids[0]) in views and ("my_reports", ids[1]) not in views
    before = _changes(app)
    with database(app).session() as s:
        publish_all(s, clock.now)
    assert _changes(app) == before


def test_a_replay_and_a_clash_after_the_cheap_path(client, people):
    c = people["citizen"]
    body = {
        "id": "00000000-0000-4000-8000-00000000abcd",
        "category_code": "SJ0101",
        "lat": INSPECTOR_POINT[0],
        "lon": INSPECTOR_POINT[1],
    }
    created = ok(client.post("/api/cases", json=body, headers=c), 201)
    again = ok(client.post("/api/cases", json=body, headers=c), 200)
    assert again["case"] == created["case"]
    clash = client.post("/api/cases", json={**body, "lat": body["lat"] + NEAR}, headers=c)
    assert clash.status_code == 409 and clash.json["code"] == "duplicate_id"
