"""The REST intake publishes a new report to devices behind its answer (rule L-2a): the case
commits with a row in ``sync_publish_queue`` instead of its device records and change-log
rows; they are written, many cases a transaction, by the process's sync applier (woken by
the report), before any pull reads the change log, and by ``flask cgt sync-publish``. No
device misses a case, a publication that fails leaves it queued, and no case is published
twice.

The tests turn the applier thread off (as every test does) and drive it by hand where they
are about it."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from server import sync_applier, sync_publish
from server.db import database
from server.models.sync import SyncChange, SyncPublishQueue, SyncRecord
from server.sync_applier import InboxApplier
from tests.api.case_helpers import act, ok, report_body
from tests.sync_server.helpers import pull_all


def _count(app, model) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _records(app, case_id: str) -> set[str]:
    with database(app).session() as s:
        return set(s.scalars(select(SyncRecord.collection).where(SyncRecord.record_id == case_id)))


def _report(client, headers, **overrides) -> str:
    return ok(client.post("/api/cases", json=report_body(**overrides), headers=headers), 201)[
        "case"
    ]["id"]


def test_the_answer_leaves_one_queue_row_and_a_pull_publishes_it(app, client, people):
    c, i = people["citizen"], people["inspector"]
    changes = _count(app, SyncChange)
    case_id = _report(client, c)
    # answered and committed; its device copies are not written yet
    assert _records(app, case_id) == set() and _count(app, SyncChange) == changes
    assert _count(app, SyncPublishQueue) == 1
    grid, _, _ = pull_all(client, i, "inspector-phone")  # the inspector's phone, first
    staff = [ch for ch in grid if ch["collection"] == "cases" and ch["id"] == case_id]
    assert len(staff) == 1 and staff[0]["data"]["state"] == "reported"
    assert _count(app, SyncPublishQueue) == 0
    mine, _, _ = pull_all(client, c, "citizen-phone")  # the reporter's view was written too
    assert [ch["id"] for ch in mine if ch["collection"] == "my_reports"] == [case_id]


def test_an_incremental_pull_gets_a_case_reported_after_its_cursor(app, client, people):
    i = people["inspector"]
    _, cursor, _ = pull_all(client, i, "inspector-phone")
    case_id = _report(client, people["citizen"])
    changes, _, reset = pull_all(client, i, "inspector-phone", cursor)
    assert not reset and [ch["id"] for ch in changes] == [case_id]


def test_the_applier_publishes_the_queue_behind_the_reports(app, client, people):
    """The report wakes the process's applier; once reports have been quiet for QUIET
    seconds it publishes them all, in transactions of DRAIN_BATCH cases."""
    ids = [_report(client, people["citizen"]) for k in range(3)]
    applier: InboxApplier = app.extensions["cgt_sync_applier"]
    assert applier.publish is not None
    applier._last_push = time.monotonic() - applier.QUIET  # the reports have been quiet
    applier._publish_turn()
    assert all(_records(app, i) == {"cases", "my_reports"} for i in ids)
    assert _count(app, SyncPublishQueue) == 0


def test_the_applier_lets_arriving_reports_go_first(app, client, people, monkeypatch):
    """While reports keep arriving (for less than MAX_WAIT) a turn publishes nothing, and a
    publication stops between batches once one arrives: what it has not published stays
    queued for its next turn or the next pull."""
    monkeypatch.setattr(sync_publish, "DRAIN_BATCH", 1)
    for _ in range(3):
        _report(client, people["citizen"])
    applier: InboxApplier = app.extensions["cgt_sync_applier"]
    monkeypatch.setattr(applier, "QUIET", 60.0)  # however slow the machine, still arriving
    applier.reported()  # a report has just arrived (the thread is off in tests)
    applier._publish_turn()
    assert _count(app, SyncPublishQueue) == 3  # it waits for them to go quiet
    with app.app_context():  # a publication already going when they arrive:
        assert applier.publish(applier._reports_arriving, None) == 1  # the batch, then it stops
    assert _count(app, SyncPublishQueue) == 2


def test_under_a_steady_stream_the_applier_publishes_one_batch_a_turn(
    app, client, people, monkeypatch
):
    """Once MAX_WAIT has run out while reports keep arriving, a turn publishes one batch and
    stops: a report's commit waits for the write lock behind one batch, not behind the
    whole queue (SQLite's busy handler sleeps in growing steps, so a report waited through
    every batch of a run: 330 ms after a 2-second stream). The rest waits for the next
    turn, or for the reports to go quiet."""
    monkeypatch.setattr(sync_applier, "STREAM_BATCH", 2)  # while reports arrive
    monkeypatch.setattr(sync_publish, "DRAIN_BATCH", 3)  # once they are quiet
    for _ in range(8):
        _report(client, people["citizen"])
    applier: InboxApplier = app.extensions["cgt_sync_applier"]
    monkeypatch.setattr(applier, "QUIET", 60.0)  # reports still arriving
    monkeypatch.setattr(applier, "MAX_WAIT", 0.0)  # ... for longer than it may wait
    applier.reported()
    applier._publish_turn()
    assert _count(app, SyncPublishQueue) == 6  # one small batch published, then it stopped
    publish = applier.publish
    batches: list[int | None] = []
    monkeypatch.setattr(applier, "publish", lambda p, b: batches.append(b) or publish(p, b))
    monkeypatch.setattr(applier, "QUIET", 0.0)  # the reports have gone quiet
    applier._publish_turn()
    assert _count(app, SyncPublishQueue) == 0  # everything, batch after batch
    assert batches == [None]  # in full-size batches


def test_a_failed_publication_leaves_the_case_queued(app, client, people, monkeypatch, caplog):
    """A drain that fails writes nothing and keeps the cases queued; the pull that ran it
    still answers (without them), and a later pull gets them under new cursors."""
    c, i = people["citizen"], people["inspector"]
    _, cursor, _ = pull_all(client, i, "inspector-phone")
    real = sync_publish.publish_views

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sync_publish, "publish_views", broken)
    case_id = _report(client, c)  # the reporter's answer is not affected
    with caplog.at_level(logging.ERROR, logger="server.sync_publish"):
        changes, cursor, _ = pull_all(client, i, "inspector-phone", cursor)
    assert "the cases stay queued" in caplog.text and changes == []
    assert _records(app, case_id) == set() and _count(app, SyncPublishQueue) == 1
    monkeypatch.setattr(sync_publish, "publish_views", real)
    changes, _, reset = pull_all(client, i, "inspector-phone", cursor)
    assert not reset and case_id in {ch["id"] for ch in changes}
    assert _count(app, SyncPublishQueue) == 0


def test_a_case_acted_on_before_it_was_published_is_published_once(app, client, people):
    c, d = people["citizen"], people["dispatcher"]
    case_id = _report(client, c)
    ok(act(client, d, case_id, "register", reason="属实"))  # its commit publishes the case
    changes = _count(app, SyncChange)
    assert _records(app, case_id) == {"cases", "my_reports"}
    assert _count(app, SyncPublishQueue) == 1
    mine, _, _ = pull_all(client, c, "citizen-phone")  # drains the queue: nothing new
    assert _count(app, SyncChange) == changes and _count(app, SyncPublishQueue) == 0
    view = [ch for ch in mine if ch["collection"] == "my_reports" and ch["id"] == case_id]
    assert [ch["data"]["state"] for ch in view] == ["registered"]


def test_sync_publish_publishes_the_queue(app, client, people, runner):
    case_id = _report(client, people["citizen"])
    result = runner.invoke(args=["cgt", "sync-publish"])
    assert result.exit_code == 0, result.output
    assert "1 queued reports published" in result.output
    assert _records(app, case_id) == {"cases", "my_reports"}
    assert _count(app, SyncPublishQueue) == 0
