"""``flask cgt sync-publish`` and ``flask cgt sync-prune`` on SQLite and PostgreSQL."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from server.clock import FixedClock
from server.db import database
from server.models.sync import (
    SyncChange,
    SyncChangeTag,
    SyncCounter,
    SyncMeta,
    SyncReceipt,
    SyncRecord,
    SyncRecordTag,
)
from sync.case_mutations import REPORT, VERIFY
from tests.api.case_helpers import upload_photo
from tests.factories import DISPATCHER, INSPECTOR, load_city, login

from .helpers import pull_all, push, report_args


def count(app: Flask, model: object) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["cgt", *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_publish_brings_data_that_predates_sync_to_devices_once(
    app: Flask, client: FlaskClient
) -> None:
    load_city(app)
    insp = login(client, INSPECTOR)
    photo = upload_photo(client, insp)
    for n in range(3):
        push(client, insp, "seed", (n + 1, REPORT, report_args(photos=[photo])))
    before, _, _ = pull_all(client, login(client, DISPATCHER), "before")
    with database(app).session() as s:  # as if the data came before sync existed
        for model in (SyncChange, SyncChangeTag, SyncRecord, SyncRecordTag, SyncCounter, SyncMeta):
            s.execute(delete(model))
    assert pull_all(client, login(client, DISPATCHER), "empty")[0] == []
    out = cli(app, "sync-publish", "--batch", "2")
    assert "changes written" in out
    after, _, _ = pull_all(client, login(client, DISPATCHER), "after")
    assert sorted((c["collection"], c["id"]) for c in after) == sorted(
        (c["collection"], c["id"]) for c in before
    )
    assert {c["collection"] for c in after} == {"cases", "categories"}
    records = count(app, SyncRecord)
    again = cli(app, "sync-publish")
    assert " 0 changes written" in again and count(app, SyncRecord) == records
    mine, _, _ = pull_all(client, insp, "inspector")
    assert sum(c["collection"] == "my_reports" for c in mine) == 3


def test_prune_keeps_the_full_resync_rule_and_refused_receipts(
    app: Flask, client: FlaskClient, clock: FixedClock
) -> None:
    load_city(app)
    insp = login(client, INSPECTOR)
    photo = upload_photo(client, insp)
    push(client, insp, "old", (1, REPORT, report_args(photos=[photo])))
    push(client, insp, "old", (2, VERIFY, {"case_id": "nope", "confirmed": True, "photos": []}))
    _, stale_cursor, _ = pull_all(client, insp, "stale")  # a phone that then goes quiet
    push(client, insp, "old2", (1, REPORT, report_args(photos=[photo])))  # it misses this
    clock.advance(days=20)
    insp = login(client, INSPECTOR)
    push(client, insp, "new", (1, REPORT, report_args(photos=[photo])))
    _, fresh_cursor, _ = pull_all(client, insp, "fresh")  # a phone that keeps up
    clock.advance(days=15)  # the first report's changes are 35 days old, the second's 15
    receipts = count(app, SyncReceipt)
    out = cli(app, "sync-prune")
    assert "changes older than 30 days" in out and "expired photo uploads" in out
    assert count(app, SyncReceipt) == receipts - 2  # the old applied ones; refused ones stay
    with database(app).session() as s:
        kept = s.scalars(select(SyncReceipt.status).where(SyncReceipt.client_id == "old"))
        assert list(kept) == ["refused"]
    insp = login(client, INSPECTOR)
    refused = push(client, insp, "old", (2, VERIFY, {"case_id": "nope"})).json["results"]
    assert refused[0]["status"] == "refused"  # still the same answer, never "already applied"
    gone = push(client, insp, "old", (1, REPORT, report_args())).json["results"]
    assert gone[0]["code"] == "receipt_expired"
    stale, _, reset = pull_all(client, insp, "stale", stale_cursor)
    assert reset and {c["collection"] for c in stale} >= {"cases", "my_reports"}
    assert sum(c["collection"] == "my_reports" for c in stale) == 3  # every record, again
    _, _, fresh_reset = pull_all(client, insp, "fresh", fresh_cursor)
    assert not fresh_reset  # a cursor newer than the pruned position goes on incrementally
    assert cli(app, "sync-prune").count(" 0 changes") == 1  # nothing more to prune


def test_prune_refuses_a_retention_that_is_no_period(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["cgt", "sync-prune", "--days", "0"])
    assert result.exit_code != 0 and "positive" in result.output


def test_publish_rewrites_a_copy_an_older_release_left_stale(
    app: Flask, client: FlaskClient
) -> None:
    """What an upgrade changes in what phones are shown (a text now masked …) reaches them
    through ``sync-publish``: a copy whose data differs from what the server publishes now
    gets a new version, and the phones that hold it pull it."""
    load_city(app)
    insp = login(client, INSPECTOR)
    photo = upload_photo(client, insp)
    push(client, insp, "seed", (1, REPORT, report_args(photos=[photo])))
    _, cursor, _ = pull_all(client, insp, "phone")
    with database(app).session() as s:  # as an older release wrote it
        record = s.scalars(select(SyncRecord).where(SyncRecord.collection == "my_reports")).one()
        current, version = dict(record.data), record.version
        record.data = {**current, "description": "井盖没了，请联系我13912345678"}
    out = cli(app, "sync-publish")
    assert " 1 changes written" in out
    with database(app).session() as s:
        record = s.scalars(select(SyncRecord).where(SyncRecord.collection == "my_reports")).one()
        assert record.data == current and record.version == version + 1
    changes, _, _ = pull_all(client, insp, "phone", cursor=cursor)
    assert [(c["collection"], c["version"]) for c in changes] == [("my_reports", version + 1)]
