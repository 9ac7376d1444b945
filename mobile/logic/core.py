"""The app's core: settings, session, the signed-in device and the sync loop, in one object
the screens talk to. No Kivy here; the shell passes ``post`` (run a callback on the UI thread)
and calls :meth:`Core.tick` from a timer.

Threads: ``io`` runs what the user does and reads (disk), ``net`` runs sync, probes and
timeline fetches (network). Results come back through ``post``; the main thread never waits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sync.case_mutations import REPORT
from sync.client import SyncReport
from sync.schedule import Backoff, SyncScheduler, Trigger

from .categories import Catalogue
from .errors import AppError, NotSignedIn, ServerRefused
from .i18n import Translator
from .session import Account, SessionManager, home_for
from .settings import SettingsStore
from .sync_state import AttentionItem, SyncState, attention_item
from .worker import Post, Worker, call_now

if TYPE_CHECKING:
    from .api import Api
    from .device import Device
    from .my_reports import MyReports
    from .patrol import Patrol
    from .photo_library import StoredPhoto
    from .report_form import ReportForm

# What the first screen does not need (HTTP, marshmallow, Pillow, the device store) is imported
# when first used, or by ``warm_up`` on the I/O thread after the first frame: a cold start
# shows the first screen sooner (bench/mobile.py).
LATER = ("mobile.logic.device", "mobile.logic.my_reports", "mobile.logic.patrol")


def utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")
log = logging.getLogger("cgt.core")
Listener = Callable[[SyncState], None]


class Core:
    def __init__(
        self,
        folder: str | Path,
        *,
        post: Post = call_now,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        api_for: Callable[[str, str | None], Api] | None = None,
        interval: timedelta = timedelta(minutes=5),
        backoff: Backoff | None = None,
        probe_every: timedelta = timedelta(seconds=5),
        min_gap: timedelta = timedelta(seconds=2),
        outcome_delay: timedelta = timedelta(seconds=3),
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.post = post
        self.settings = SettingsStore(self.folder)
        self.tr = Translator(self.settings.current.language)
        self.session = SessionManager(
            self.folder, lambda: self.settings.current.server_url,
            self.settings.current.install_id, api_for,
        )  # fmt: skip
        self.io = Worker("cgt-io", post)
        self.net = Worker("cgt-net", post)
        self._schedule = {"interval": interval, "backoff": backoff, "min_gap": min_gap,
                          "outcome_delay": outcome_delay}  # fmt: skip
        self._rng = rng or random.Random()
        self.scheduler = SyncScheduler(self._rng, **self._schedule)  # type: ignore[arg-type]
        self.probe_every = probe_every
        self._last_probe: datetime | None = None
        self.state = SyncState()
        self.listeners: list[Listener] = []  # the sync bar
        self.data_listeners: list[Callable[[], None]] = []  # lists that reload after a sync
        self.device: Device | None = None
        self._catalogue = Catalogue()  # the bundled one until the synced one is read
        if self.session.account is not None:
            self._open()

    # -------------------------------------------------------------- account

    @property
    def account(self) -> Account | None:
        return self.session.account

    def home(self) -> str:
        return "signin" if self.account is None else home_for(self.account.role)

    def _open(self) -> None:
        from .device import Device

        self.device = Device(self.folder, self.session, self.settings.current.server_url,
                             clock=self.clock)  # fmt: skip
        self.reload_catalogue()
        self.scheduler = SyncScheduler(self._rng, **self._schedule)  # type: ignore[arg-type]
        self.scheduler.trigger(Trigger.START, self.clock())
        self.state = replace(SyncState.of(self.device.local.counts()), online=None)

    def request_code(self, phone: str) -> int:
        return self.session.request_code(phone)

    def sign_in_phone(self, phone: str, code: str) -> Account:
        account = self.session.sign_in_phone(phone, code)
        self._open()
        return account

    def sign_in_staff(self, username: str, password: str) -> Account:
        account = self.session.sign_in_staff(username, password)
        self._open()
        return account

    def sign_out(self) -> None:
        """Blocking (run it on ``io``): waits for a running sync, then closes the store."""
        self.net.drain()
        if self.device is not None:
            self.device.close()
            self.device = None
        self.session.sign_out()
        self.state = SyncState()

    def require_device(self) -> Device:
        if self.device is None:
            raise NotSignedIn()
        return self.device

    # -------------------------------------------------------------- settings

    def set_language(self, language: str) -> None:
        self.settings.set_language(language)
        self.tr.set_language(language)

    def set_server(self, url: str) -> None:
        """A new server address applies from the next sign-in (tokens belong to a server)."""
        self.settings.set_server(url)

    # -------------------------------------------------------------- what screens use

    def catalogue(self) -> Catalogue:
        """The catalogue in memory (never a disk read: screens call this on the UI thread)."""
        return self._catalogue

    def reload_catalogue(self) -> None:
        """Read the synced catalogue on the I/O thread and swap it in when ready."""
        device = self.device

        def load() -> Catalogue:
            return Catalogue(device.local.all("categories").values() if device else ())

        self.io.submit(load, self._set_catalogue)

    def _set_catalogue(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    def my_reports(self) -> MyReports:
        from .my_reports import MyReports

        account = self.account
        rater = account is not None and not account.is_staff
        return MyReports(self.require_device().local, self.clock, rater=rater)

    def patrol(self) -> Patrol:
        from .patrol import Patrol

        device = self.require_device()
        return Patrol(device.local, device.account.user_id, self.clock)

    def add_photo(self, path: str | Path) -> StoredPhoto:
        """Copy a taken or chosen picture into the app (by content); not yet queued."""
        return self.require_device().photos.add_file(path)

    def queue_photos(self, photos: list[StoredPhoto]) -> None:
        """Queue the photos an action refers to, just before recording it."""
        queue = self.require_device().local_photos
        for p in photos:
            queue.add(p.sha256, p.size, p.mime)

    def submit_report(self, form: ReportForm, photos: dict[str, StoredPhoto]) -> str:
        """Validate and record a report offline; returns its id (sent when possible)."""
        args = form.validated_args()
        self.queue_photos([photos[s] for s in form.photos if s in photos])
        self.require_device().local.record(REPORT, args)
        self.record_done()
        return str(args["id"])

    def record_done(self) -> None:
        """After the user recorded something: refresh the bar and try to send it soon."""
        self.refresh_state()
        self.scheduler.trigger(Trigger.TIMER, self.clock())

    def refresh_state(self) -> SyncState:
        if self.device is not None:
            counts = self.device.local.counts()
            self._set_state(replace(self.state, waiting=counts.waiting, sent=counts.received,
                                    attention=counts.needs_attention,
                                    last_success_at=counts.last_success_at))  # fmt: skip
        return self.state

    def attention(self) -> list[AttentionItem]:
        device = self.require_device()
        return [attention_item(e, dict(device.local.photos_of(e)))
                for e in device.local.needs_attention()]  # fmt: skip

    def resend(self, seq: int, changes: dict[str, Any] | None = None) -> None:
        """Fix and resend a refused action: photos that failed are queued again first."""
        device = self.require_device()
        item = next((i for i in self.attention() if i.seq == seq), None)
        if item is None:
            raise AppError("attention.gone")
        for sha, status in item.photos.items():
            if status == "attention":
                device.photo_queue.retry(sha)
        args = dict(item.args)
        for key, value in (changes or {}).items():
            if key in item.editable:
                args[key] = value
        device.local.resend(seq, args)
        self.record_done()

    def discard(self, seq: int) -> None:
        self.require_device().local.discard(seq)
        self.refresh_state()

    # -------------------------------------------------------------- the sync loop

    def warm_up(self) -> None:
        """Import what the first screen did not need, on the I/O thread."""
        import importlib

        self.io.submit(lambda: [importlib.import_module(m) for m in LATER])

    def _set_state(self, state: SyncState) -> None:
        """Keep the new state and tell the listeners (the sync bar) on the UI thread."""
        self.state = state
        for listener in list(self.listeners):
            self.post(lambda listener=listener: listener(state))  # type: ignore[misc]

    def sync_now(self) -> None:
        self.scheduler.trigger(Trigger.DEMAND, self.clock())
        self.tick()

    def network_changed(self, online: bool) -> None:
        """The platform says the network came back (Android connectivity) or went away."""
        if online:
            self.scheduler.trigger(Trigger.RECONNECT, self.clock())
            self.tick()
        else:
            self._set_state(replace(self.state, online=False))

    def tick(self) -> None:
        """Called by a timer on the UI thread: start a due sync, or probe while offline."""
        if self.device is None or self.state.signed_out:
            return
        now = self.clock()
        if self.scheduler.should_run(now) and not self.net.busy:
            self.scheduler.started(now)
            self._set_state(replace(self.state, syncing=True))
            device = self.device
            self.net.submit(lambda: self._sync(device), self._synced, self._sync_failed)
        elif self.state.online is False and not self.net.busy and self.scheduler.next_due():
            if self._last_probe is None or now - self._last_probe >= self.probe_every:
                self._last_probe = now
                self.net.submit(self.session.api().reachable, self._probed)

    @staticmethod
    def _sync(device: Device) -> tuple[SyncReport, Any]:
        report = device.remote.sync()
        return report, device.remote.counts()

    def _synced(self, outcome: tuple[SyncReport, Any]) -> None:
        report, counts = outcome
        now = self.clock()
        self.scheduler.finished(now, ok=report.ok, update_required=counts.update_required,
                                outcomes_pending=counts.received > 0)  # fmt: skip
        online = report.ok or report.error != "transport"
        self._set_state(SyncState.of(counts, online=online, syncing=False))
        if report.pulled:
            self.reload_catalogue()
        if report.pulled or report.pushed or report.refused:
            for listener in list(self.data_listeners):
                listener()

    def _sync_failed(self, error: BaseException) -> None:
        self.scheduler.finished(self.clock(), ok=False)
        if isinstance(error, ServerRefused) and error.status == 401:
            self._set_state(replace(self.state, syncing=False, signed_out=True))
            return
        log.warning("sync failed: %r", error)
        online = not isinstance(error, OSError)
        self._set_state(replace(self.state, syncing=False, online=online))

    def _probed(self, reachable: bool) -> None:
        if reachable:
            self.scheduler.trigger(Trigger.RECONNECT, self.clock())

    def close(self) -> None:
        """Finish what the threads are doing and close the store; safe to call twice."""
        if self.__dict__.get("_closed"):
            return
        self._closed = True
        self.net.drain()
        self.io.drain()
        self.io.stop()
        self.net.stop()
        if self.device is not None:
            self.device.close()
