"""Deferred pushes over the HTTP edge with the real case workflow, on SQLite and PostgreSQL:
received at once, applied behind by the applier (driven explicitly here: ``drain``), the
outcomes delivered to the device that pushed them and to nobody else."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from server.db import database
from server.models import Case, User
from server.models.sync import SyncInbox, SyncReceipt
from server.sync_store import SqlServerStore
from sync.case_mutations import REPORT
from sync.protocol import Mutation, OutcomesRequest, PushRequest
from tests.factories import CITIZEN2_PHONE, CITIZEN_PHONE, load_city, login_phone

from .helpers import device, report_args


def _count(app: Flask, model: object) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def _drain(app: Flask) -> int:
    return int(app.extensions["cgt_sync_applier"].drain())


def test_reports_are_received_then_applied_and_settled(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    ids = [phone.record(REPORT, report_args()).args["id"] for _ in range(5)]
    phone.record(REPORT, report_args(category_code="no-such-category"))
    result = phone.sync()
    assert (result.ok, result.received, result.pushed) == (True, 6, 0)
    assert _count(app, Case) == 0 and _count(app, SyncInbox) == 6
    assert phone.counts().received == 6 and len(phone.all("my_reports")) == 6  # optimistic
    assert _drain(app) == 6
    assert _count(app, Case) == 5 and _count(app, SyncInbox) == 0
    assert _count(app, SyncReceipt) == 6
    result = phone.sync()
    assert (result.ok, result.pushed, result.refused) == (True, 5, 1)
    counts = phone.counts()
    assert (counts.waiting, counts.received, counts.needs_attention) == (0, 0, 1)
    assert phone.needs_attention()[0].code == "unknown_category"
    assert all(phone.version_of("my_reports", i) == 1 for i in ids)  # echoed by the outcomes
    assert _drain(app) == 0 and phone.sync().ok and _count(app, Case) == 5


def test_another_user_cannot_read_a_devices_outcomes(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    phone.record(REPORT, report_args(description="我家门口的问题"))
    phone.sync()
    _drain(app)
    other = login_phone(client, app, CITIZEN2_PHONE)
    body = OutcomesRequest(phone.client_id, (1,)).to_json()
    resp = client.post("/api/sync/outcomes", json=body, headers=other)
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    assert "我家门口" not in resp.get_data(as_text=True)
    mine = client.post("/api/sync/outcomes", json=body, headers=me)
    assert mine.status_code == 200 and mine.json["results"][0]["status"] == "applied"
    unsigned = client.post("/api/sync/outcomes", json=body)
    assert unsigned.status_code == 401


def test_a_malformed_deferred_push_or_outcomes_request_is_a_400(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    good = PushRequest("p1", (Mutation("p1", 1, REPORT, report_args()),), defer=True).to_json()
    bad = {**good, "mutations": [{**good["mutations"][0], "seq": 0}]}
    resp = client.post("/api/sync/push", json=bad, headers=me)
    assert resp.status_code == 400 and resp.json["errors"] == {
        "mutations[0].seq": "must be an integer >= 1"
    }
    assert _count(app, SyncInbox) == 0  # nothing of a malformed push is stored
    resp = client.post(
        "/api/sync/outcomes", json={"protocol": 1, "client_id": "p1", "seqs": "1"}, headers=me
    )
    assert resp.status_code == 400 and set(resp.json) >= {"code", "message", "message_zh"}


def test_a_user_disabled_before_the_applier_runs_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    phone.record(REPORT, report_args())
    assert phone.sync().received == 1
    with database(app).session() as s:
        s.execute(update(User).where(User.phone == CITIZEN_PHONE).values(active=False))
    assert _drain(app) == 1
    assert _count(app, Case) == 0 and _count(app, SyncInbox) == 0
    with database(app).session() as s:
        receipt = s.scalars(select(SyncReceipt)).one()
    assert (receipt.status, receipt.code) == ("refused", "account_disabled")


def test_the_inbox_command_shows_the_depth_and_applies(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    for _ in range(3):
        phone.record(REPORT, report_args())
    phone.sync()
    shown = app.test_cli_runner().invoke(args=["cgt", "sync-inbox"])
    assert shown.exit_code == 0, shown.output
    assert "3 mutations waiting, 1 devices" in shown.output
    assert f"{phone.client_id}  user:" in shown.output and "3 from #1" in shown.output
    applied = app.test_cli_runner().invoke(args=["cgt", "sync-inbox", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "3 mutations applied" in applied.output and "0 mutations waiting" in applied.output
    assert _count(app, Case) == 3


def test_the_applier_thread_applies_what_a_push_wakes_it_for(
    app: Flask, client: FlaskClient
) -> None:
    """The thread's own life: woken by a push, it applies; stopped, it ends. (The rules it
    follows are tested through ``drain`` above; here only that the thread runs them.)"""
    load_city(app)
    applier = app.extensions["cgt_sync_applier"]
    applier.enabled = True
    applier.QUIET = 0.0
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    phone.record(REPORT, report_args())
    try:
        assert phone.sync().received == 1  # the push starts and wakes the thread
        assert applier.thread is not None and applier.thread.is_alive()
        for _ in range(600):  # up to 60 s on a loaded machine; usually at once
            if _count(app, SyncInbox) == 0 and applier.applied:
                break
            applier.thread.join(0.1)
        assert _count(app, Case) == 1 and applier.applied == 1
    finally:
        applier.stop()
        if applier.thread is not None:
            applier.thread.join(30)
    assert applier.thread is not None and not applier.thread.is_alive()


def test_postgresql_skips_a_client_another_process_is_applying(
    app: Flask, client: FlaskClient, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        return  # SQLite has one writer: a second applier waits for the lock instead
    load_city(app)
    me = login_phone(client, app, CITIZEN_PHONE)
    phone = device(app, client, me, defer=True)
    phone.record(REPORT, report_args())
    phone.sync()
    store = SqlServerStore(database(app).factory)
    with store.transaction() as other:
        assert other.claim_client(phone.client_id) is not None  # "another process" holds it
        assert _drain(app) == 0  # skipped, not waited for
        assert _count(app, SyncInbox) == 1
    assert _drain(app) == 1 and _count(app, Case) == 1
