"""``cgt sync-publish`` and ``cgt sync-prune``: the offline sync's operations (docs/operations.md).

``sync-publish`` writes the device-facing records of data that predates sync or came in by a
path that bypassed the publishing hook (a restored dump, SQL run by hand): cases, reporters'
views and categories, in batches, each its own transaction. It is idempotent: a record whose
data and audience are unchanged gets no new version, so a second run writes nothing.

``sync-prune`` is the nightly retention job: the change log (removals included) older than
``SYNC_RETENTION_DAYS``, receipts of applied mutations older than
``SYNC_RECEIPT_RETENTION_DAYS`` (refused receipts are kept for good, rule P-9), and expired
unfinished photo uploads. A device whose cursor is older than what was pruned gets a full
resync on its next pull (rule T-2) and keeps its outbox (T-3).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from sqlalchemy import func, select

from sync.server import Writer
from sync.server import prune as prune_log

from .. import clock
from ..cli import cgt
from ..db import database
from ..models import Case, Category, search
from ..models.sync import SyncChange, SyncReceipt
from ..services import photo_uploads
from ..sync_publish import CASES, CATEGORIES, drain, publish
from ..sync_store import SqlServerStore, SqlServerTx


def _batches(column: Any, size: int) -> list[list[tuple[str, str]]]:
    """Every key of ``column``'s table in order, cut into lists of ``size``."""
    collection = CASES if column is Case.id else CATEGORIES
    with database().session() as s:
        keys = [(collection, str(k)) for k in s.scalars(select(column).order_by(column))]
    return [keys[i : i + size] for i in range(0, len(keys), size)]


@cgt.command("sync-publish")
@click.option("--batch", default=500, show_default=True, help="records per transaction")
def sync_publish(batch: int) -> None:
    """Publish existing cases and categories to the sync change log (idempotent)."""
    started = time.perf_counter()
    queued = drain(database().factory, clock.now())  # REST reports not yet published
    seen = written = 0
    for keys in _batches(Category.code, batch) + _batches(Case.id, batch):
        with database().session() as s:
            w = Writer(SqlServerTx(s), None, clock.now())
            publish(w, s, keys)
            written += len(w.changes)
            w.flush()  # numbers from the counter, last before the commit (rule C-3)
        seen += len(keys)
    click.echo(
        f"sync-publish: {queued} queued reports published; {seen} cases and categories "
        f"looked at, {written} changes written ({time.perf_counter() - started:.1f} s)"
    )


def _count(model: Any) -> int:
    with database().session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@cgt.command("sync-prune")
@click.option("--days", type=float, help="keep the change log this long [SYNC_RETENTION_DAYS]")
@click.option(
    "--receipt-days",
    type=float,
    help="keep applied receipts this long [SYNC_RECEIPT_RETENTION_DAYS]",
)
def sync_prune(days: float | None, receipt_days: float | None) -> None:
    """Forget old changes, applied receipts and expired photo uploads, and bring the SQLite
    text-search index up to date (a nightly job)."""
    cfg = current_app.config
    keep = timedelta(days=float(cfg["SYNC_RETENTION_DAYS"] if days is None else days))
    receipts = float(cfg["SYNC_RECEIPT_RETENTION_DAYS"] if receipt_days is None else receipt_days)
    if keep.total_seconds() <= 0 or receipts <= 0:
        raise click.BadParameter("retention periods must be positive")
    now = clock.now()
    changes, applied = _count(SyncChange), _count(SyncReceipt)
    store = SqlServerStore(database().factory)
    prune_log(store, now, keep, timedelta(days=receipts))
    with store.transaction() as tx:
        oldest = tx.min_retained_cursor()
    with database().session() as s:
        uploads = photo_uploads.prune(s, photo_uploads.UploadSettings.from_config(cfg), now)
    indexed = search.flush(database().engine)
    click.echo(
        f"sync-prune: {changes - _count(SyncChange)} changes older than "
        f"{keep.total_seconds() / 86400:g} days and "
        f"{applied - _count(SyncReceipt)} applied receipts removed; devices with a cursor "
        f"before {oldest} resync fully; {uploads} expired photo uploads removed; "
        f"{indexed} changed cases indexed for search"
    )


@cgt.command("sync-inbox")
@click.option("--apply", "apply_now", is_flag=True, help="apply everything in it now")
def sync_inbox(apply_now: bool) -> None:
    """Show the deferred pushes waiting in the sync inbox, per device; --apply applies them
    (what each server process's applier thread does by itself, SYNC_INBOX_APPLIER)."""
    applied = 0
    if apply_now:
        applied = current_app.extensions["cgt_sync_applier"].drain()
    with SqlServerStore(database().factory).transaction() as tx:
        depth = tx.inbox_depth()
    now = clock.now()
    if apply_now:
        click.echo(f"sync-inbox: {applied} mutations applied")
    click.echo(f"sync-inbox: {sum(d.rows for d in depth)} mutations waiting, {len(depth)} devices")
    for d in depth:
        age = (now - d.oldest).total_seconds()
        click.echo(f"  {d.client_id}  {d.owner}  {d.rows} from #{d.first_seq}, oldest {age:.0f} s")
