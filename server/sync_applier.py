"""The applier of deferred pushes: a thread in each server process that applies the sync
inbox (docs/sync-protocol.md, rules D-5 and D-9; docs/operations.md, "The sync inbox").

A deferred push only stores its mutations in ``sync_inbox`` and answers ``received``; this
thread applies them right behind, through the engine's ``apply_inbox`` (the same handlers,
receipts and change log as a plain push, as the user who pushed them, looked up now). It is
started and stopped like the SQLite maintenance thread (``server.db.WalCheckpointer``): the
first sync request of a process starts it (a fork starts its own), a deferred push that put
rows in the inbox wakes it, and it also looks every ``POLL`` seconds, for rows a crashed or
restarted process left behind. After a wake it waits until pushes have been quiet for
``QUIET`` seconds, and it pauses between batches while pushes arrive (at most ``MAX_WAIT``
in a row, then it applies whatever comes): a device's burst of pushes is received first,
without waiting behind the applier's transactions (on SQLite the write lock, and in any
case the process's CPU, which the request threads and this one share), and applied after
in long runs. A store failure leaves the rows in place and the thread backs off
(``BACKOFF_MAX``). On PostgreSQL with several processes a client's inbox is applied by one
process at a time (its ``sync_clients`` row, ``FOR UPDATE SKIP LOCKED``).

The same thread publishes the REST intake's queue (``sync_publish.drain``, rule L-2a): a
report wakes it like a deferred push does, and it publishes once reports have been quiet for
``QUIET`` seconds (at most ``MAX_WAIT``), pausing between batches while they arrive.

Tests never depend on the thread: they turn it off (``SYNC_INBOX_APPLIER = False``) and
call :meth:`InboxApplier.drain`, or ``flask cgt sync-inbox --apply``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from shared_models.enums import Role
from shared_models.errors import CgtError
from sync.errors import SyncError
from sync.server import SyncServer
from sync.server_store import Peer

from .db import database, join_thread
from .models import User
from .services.actor import Actor
from .sync_publish import STREAM_BATCH

log = logging.getLogger(__name__)


def peer_of(app: Flask, key: str) -> Peer | CgtError:
    """The Peer of ``key`` ("user:<id>") as the user is now, for the applier; a user who is
    gone or disabled since they pushed gets ``account_disabled`` (their mutations are
    refused with it, rule D-5). Needs an app context (the case settings)."""
    from .api.context import case_ctx
    from .api.sync import audiences
    from .sync_handlers import Caller

    kind, _, raw = key.partition(":")
    if kind != "user" or not raw.isdigit():
        return CgtError("account_disabled")
    with database(app).session() as s:
        user = s.execute(
            select(User.id, User.role, User.department_id, User.display_name, User.active).where(
                User.id == int(raw)
            )
        ).first()
        if user is None or not user.active:
            return CgtError("account_disabled")
        actor = Actor(user.id, Role(user.role), user.department_id, user.display_name)
        tags = audiences(actor, s)
    return Peer(key, tags, Caller(actor, case_ctx()))


class InboxApplier:
    POLL = 5.0  # seconds between looks for rows nobody woke it for
    QUIET = 0.2  # seconds without a deferred push before it applies
    MAX_WAIT = 2.0  # ... but it never waits or pauses longer than this in a row
    BACKOFF_MAX = 60.0  # seconds, after store failures in a row

    def __init__(
        self,
        app: Flask,
        server: SyncServer,
        enabled: bool = True,
        publish: Callable[[Callable[[], bool], int | None], int] | None = None,
    ) -> None:
        self.app = app
        self.server = server
        self.enabled = enabled
        # the REST intake's publish queue (rule L-2a), drained with the inbox
        self.publish = publish
        self.failures = 0
        self.applied = 0  # mutations receipted by this process's thread
        self._last_push = 0.0
        self._paused_since: float | None = None  # pausing for pushes since (monotonic)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def arriving(self) -> None:
        """A deferred push is about to be received: the applier pauses before its next
        batch (it must not take the locks the push is about to wait for)."""
        self._last_push = time.monotonic()

    def received(self) -> None:
        """A deferred push committed rows to the inbox (``SyncServer.on_received``)."""
        self._last_push = time.monotonic()
        self.ensure_started()
        self._wake.set()

    def reported(self) -> None:
        """A REST report committed a row to the publish queue: publish it behind, with the
        reports that follow it (the thread waits until they have been quiet for QUIET
        seconds, at most MAX_WAIT, as after a deferred push)."""
        self._last_push = time.monotonic()
        self.ensure_started()
        self._wake.set()

    def ensure_started(self) -> None:
        """Start this process's thread unless it runs (cheap: called by sync requests)."""
        if not self.enabled or self._pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.thread = threading.Thread(target=self._run, name="cgt-sync-applier", daemon=True)
            self.thread.start()

    def drain(self, pause: Callable[[], bool] | None = None) -> int:
        """Apply everything in the inbox now, in this thread; the mutations receipted.
        ``pause``: asked before each batch, True stops for now (the thread's ``_yield``)."""
        with self.app.app_context():
            return self.server.apply_inbox(pause=pause)

    def _yield(self) -> bool:
        """Pushes are arriving in this process: let them go first, but not for longer than
        MAX_WAIT in a row (under a steady stream of pushes it then applies regardless)."""
        if not self._reports_arriving():
            self._paused_since = None
            return False
        now = time.monotonic()
        if self._paused_since is None:
            self._paused_since = now
        return now - self._paused_since < self.MAX_WAIT

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            if not first:
                woke = self._wake.wait(self.POLL)
                self._wake.clear()
                if self._stop.is_set():
                    return
                if woke:
                    self._quiet()
            first = False  # a new process looks at once: rows a dead one left behind
            try:
                self.applied += self.drain(self._yield)
                self._publish_turn()
                self.failures = 0
                if self._paused_since is not None:
                    self._wake.set()  # it paused for pushes: go on once they are quiet
            except SyncError as error:  # the store failed: the rows wait, we back off
                self._back_off(error)
            except Exception as error:  # noqa: BLE001 (a bug must not end the thread)
                log.exception("sync inbox applier failed")
                self._back_off(error)

    def _publish_turn(self) -> None:
        """Publish the REST intake's queue unless reports are arriving (and MAX_WAIT has not
        run out). While they keep arriving it publishes one small batch a turn
        (``STREAM_BATCH``), not the whole queue: every report's commit waits for the write
        lock behind a batch, and SQLite's busy handler sleeps in growing steps (1, 2, 5 …
        100 ms), so a report behind a run of batches waited through all of them (330 ms
        seen in process after a 2-second stream). Once they are quiet it publishes
        everything, ``DRAIN_BATCH`` a transaction."""
        if self.publish is None or self._yield():
            return
        batch = STREAM_BATCH if self._reports_arriving() else None
        with self.app.app_context():
            self.publish(self._reports_arriving, batch)

    def _reports_arriving(self) -> bool:
        """Pushes or reports came within QUIET seconds (asked between publishing batches:
        stop while they arrive)."""
        return time.monotonic() - self._last_push < self.QUIET

    def _quiet(self) -> None:
        """Wait until pushes have been quiet for QUIET seconds, at most MAX_WAIT."""
        until = time.monotonic() + self.MAX_WAIT
        while not self._stop.is_set():
            now = time.monotonic()
            left = min(self._last_push + self.QUIET, until) - now
            if left <= 0:
                return
            self._stop.wait(left)

    def _back_off(self, error: BaseException) -> None:
        self.failures += 1
        delay = min(self.BACKOFF_MAX, 2.0**self.failures)
        log.warning("sync inbox: %s; next try in %.0f s", error, delay)
        self._stop.wait(delay)

    def stop(self, wait: float = 0.0) -> None:
        """End the thread (after the turn it is in, if any: applying the inbox and
        publishing); ``wait``: seconds to wait for it."""
        self._stop.set()
        self._wake.set()
        join_thread(self.thread, wait)
