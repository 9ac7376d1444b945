"""The device configuration of the sync engine: the outbox, push, pull and counts.

Everything the user does is written to the outbox in one local transaction and shown at
once (optimistic local apply). ``sync()`` pushes the outbox in order, settles each answer
(applied or duplicate: done; refused: "needs attention", kept, never blocking the rest),
then pulls pages, each applied together with its cursor in one local transaction. No I/O
happens here except through the transport and the store given to it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from shared_models.errors import CgtError

from .client_store import ClientStore, ClientTx, EntryStatus, LocalRecord, OutboxEntry, Overlay
from .errors import ProtocolError, TransportError
from .mutations import LocalView, Registry
from .protocol import (
    MAX_OUTCOMES,
    Change,
    Json,
    Mutation,
    Op,
    OutcomesRequest,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
    Status,
)

Clock = Callable[[], datetime]
Ids = Callable[[], str]


class Transport(Protocol):
    """Carries envelopes to the server; raises TransportError when the outcome is unknown
    and ProtocolError when the server refuses the envelope itself."""

    def push(self, request: PushRequest) -> PushResponse: ...
    def pull(self, request: PullRequest) -> PullPage: ...
    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        """What became of mutations the server ``received`` (rule D-6); deferring clients."""
        ...


class Uploader(Protocol):
    """The photo queue as sync() drives it (see sync.photos.PhotoQueue)."""

    def run(self) -> None: ...
    def status_of(self, shas: Iterable[str]) -> Mapping[str, str]:
        """ "waiting", "uploaded" or "attention" for each sha256."""
        ...


@dataclass(frozen=True)
class Counts:
    """What the app shows: 待发送 waiting, 发送中 sending, 已发送 received (the server has
    them, their outcome is not known yet), 需处理 needs attention; ``sent`` counts the
    mutations settled since the install."""

    waiting: int
    sending: int
    sent: int
    needs_attention: int
    last_success_at: datetime | None
    update_required: bool
    received: int = 0


@dataclass(frozen=True)
class SyncReport:
    ok: bool
    pushed: int = 0
    refused: int = 0
    pulled: int = 0
    error: str | None = None  # "transport" or a protocol error code
    received: int = 0  # sent to the server's inbox, outcome to come (deferred pushes)


def apply_changes(tx: ClientTx, changes: Sequence[Change]) -> None:
    """Apply server changes, each unless the device already holds a newer version of it, in
    one statement (``executemany`` on SQLite).

    Versions are the server's, per record; an older copy arriving late (a replayed echo, a
    stale page) is ignored, and a tombstone keeps the version of the removal.
    """
    tx.put_records_if_newer(
        [
            LocalRecord(c.collection, c.id, c.version, c.data if c.op is Op.UPSERT else None)
            for c in changes
        ]
    )


def apply_page(tx: ClientTx, page: PullPage) -> None:
    """Apply a pulled page and store its cursor, in the caller's one transaction."""
    if page.reset:
        tx.tombstone_all()
    apply_changes(tx, page.changes)
    tx.set_meta("cursor", page.cursor)


class _TxView(LocalView):
    def __init__(self, tx: ClientTx) -> None:
        self.tx = tx

    def get(self, collection: str, id: str) -> Json | None:
        return view_record(self.tx, collection, id)


def view_record(tx: ClientTx, collection: str, id: str) -> Json | None:
    """The record as the user sees it: their latest pending write, else the server's copy."""
    overlay = tx.latest_overlay(collection, id)
    if overlay is not None:
        return overlay.data
    record = tx.get_record(collection, id)
    return None if record is None else record.data


class SyncClient:
    """One installation's sync engine, given a store, a transport, the registry, clock and ids."""

    def __init__(
        self,
        store: ClientStore,
        transport: Transport,
        registry: Registry,
        clock: Clock,
        ids: Ids,
        *,
        scope: tuple[str, ...] = (),
        batch_size: int = 20,
        page_limit: int = 100,
        max_pages: int = 10_000,
        prefetch: bool = False,
        photos: Uploader | None = None,
        on_progress: Callable[[Counts], None] | None = None,
        defer: bool = False,
    ) -> None:
        self.store = store
        self.transport = transport
        self.registry = registry
        self.clock = clock
        self.ids = ids
        self.scope = tuple(sorted(scope))
        self.batch_size = batch_size
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.prefetch = prefetch  # request the next page while applying one (a thread)
        self.photos = photos
        self.on_progress = on_progress
        self.defer = defer  # push with ``defer``: the server may answer ``received`` (D-1)
        self._sending = 0
        with store.transaction() as tx:
            client_id = tx.get_meta("client_id")
            if client_id is None:
                client_id = ids()
                tx.set_meta("client_id", client_id)
                tx.set_meta("next_seq", "1")
        self.client_id = client_id

    # ------------------------------------------------------------ what the user does

    def record(self, name: str, args: Json, base_version: int | None = None) -> OutboxEntry:
        """Do a mutation offline: durably queued and applied locally in one transaction.

        Raises CgtError (nothing written) if the local apply finds it impossible already.
        """
        with self.store.transaction() as tx:
            entry = self._record(tx, name, args, base_version)
        self._progress()
        return entry

    def _record(self, tx: ClientTx, name: str, args: Json, base_version: int | None) -> OutboxEntry:
        spec = self.registry.get(name)
        seq = int(tx.get_meta("next_seq") or "1")
        entry = OutboxEntry(seq, self.ids(), name, dict(args), base_version, self.clock())
        if spec.local is not None:
            for w in spec.local(_TxView(tx), entry.args):
                tx.put_overlay(Overlay(seq, w.collection, w.id, w.data))
        tx.add_outbox(entry)
        tx.set_meta("next_seq", str(seq + 1))
        return entry

    def resend(
        self, seq: int, args: Json | None = None, base_version: int | None = None
    ) -> OutboxEntry:
        """Fix a refused mutation and queue it again as a new mutation number, atomically:
        if the fix is impossible already (CgtError), the refused item stays as it was."""
        with self.store.transaction() as tx:
            old = self._attention(tx, seq)
            tx.drop_overlay(seq)
            tx.delete_outbox(seq)
            entry = self._record(
                tx,
                old.name,
                old.args if args is None else args,
                old.base_version if base_version is None else base_version,
            )
        self._progress()
        return entry

    def discard(self, seq: int) -> None:
        """Give up a refused mutation: the user has seen the reason and chose to drop it."""
        with self.store.transaction() as tx:
            self._attention(tx, seq)
            tx.drop_overlay(seq)
            tx.delete_outbox(seq)
        self._progress()

    @staticmethod
    def _attention(tx: ClientTx, seq: int) -> OutboxEntry:
        entry = tx.get_outbox(seq)
        if entry is None or entry.status is not EntryStatus.ATTENTION:
            raise CgtError("not_found")
        return entry

    # ------------------------------------------------------------ what the app shows

    def get(self, collection: str, id: str) -> Json | None:
        with self.store.transaction() as tx:
            return view_record(tx, collection, id)

    def version_of(self, collection: str, id: str) -> int | None:
        """The server version the device holds: the ``base_version`` of an edit."""
        with self.store.transaction() as tx:
            record = tx.get_record(collection, id)
            return None if record is None or record.data is None else record.version

    def all(self, collection: str) -> dict[str, Json]:
        with self.store.transaction() as tx:
            view = {r.id: r.data for r in tx.records(collection) if r.data is not None}
            for o in tx.overlays(collection):
                if o.data is None:
                    view.pop(o.id, None)
                else:
                    view[o.id] = o.data
            return view

    def needs_attention(self) -> list[OutboxEntry]:
        with self.store.transaction() as tx:
            return tx.outbox(EntryStatus.ATTENTION, 1_000_000)

    def waiting(self) -> list[OutboxEntry]:
        with self.store.transaction() as tx:
            return tx.outbox(EntryStatus.WAITING, 1_000_000)

    def sent(self) -> list[OutboxEntry]:
        """Entries the server has received and not yet decided (已发送): still pending."""
        with self.store.transaction() as tx:
            return tx.outbox(EntryStatus.SENT, 1_000_000)

    def counts(self) -> Counts:
        with self.store.transaction() as tx:
            last = tx.get_meta("last_success_at")
            return Counts(
                waiting=tx.count_outbox(EntryStatus.WAITING),
                sending=self._sending,
                sent=int(tx.get_meta("sent") or "0"),
                needs_attention=tx.count_outbox(EntryStatus.ATTENTION),
                last_success_at=datetime.fromisoformat(last) if last else None,
                update_required=tx.get_meta("update_required") is not None,
                received=tx.count_outbox(EntryStatus.SENT),
            )

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.counts())

    # ------------------------------------------------------------ sync

    def sync(self) -> SyncReport:
        """One sync attempt: photos, then the outbox, then the outcomes of what the server
        had received (deferred pushes), then pull until the server has no more."""
        pushed = refused = pulled = received = 0
        try:
            if self.photos is not None:
                self.photos.run()
            pushed, refused, received = self._push_all()
            if self.defer:
                done, bad = self._collect_outcomes()
                pushed, refused = pushed + done, refused + bad
            pulled = self._pull_all()
        except TransportError:
            return SyncReport(False, pushed, refused, pulled, "transport", received)
        except ProtocolError as error:
            if error.update_required:
                with self.store.transaction() as tx:
                    tx.set_meta("update_required", error.message_zh)
            return SyncReport(False, pushed, refused, pulled, error.code, received)
        finally:
            self._sending = 0
            self._progress()
        with self.store.transaction(durable=False) as tx:
            tx.set_meta("last_success_at", self.clock().isoformat())
            tx.delete_meta("update_required")
        return SyncReport(True, pushed, refused, pulled, received=received)

    def push(self) -> tuple[int, int, int]:
        """Only the push of an attempt (benchmarks, tests): (settled, refused, received)."""
        try:
            return self._push_all()
        finally:
            self._sending = 0

    def _push_all(self) -> tuple[int, int, int]:
        pushed = refused = received = 0
        while True:
            with self.store.transaction() as tx:
                waiting = tx.outbox(EntryStatus.WAITING, self.batch_size)
            batch = self._ready(waiting)  # outside: the photo queue opens its own transaction
            if not batch:
                return pushed, refused, received
            request = PushRequest(
                self.client_id,
                tuple(
                    Mutation(self.client_id, e.seq, e.name, e.args, e.base_version) for e in batch
                ),
                defer=self.defer,
            )
            self._sending = len(batch)
            self._progress()
            response = self.transport.push(request)
            done, bad, got = self._settle(batch, response)
            self._sending = 0
            pushed, refused, received = pushed + done, refused + bad, received + got
            if done + bad + got == 0:
                return pushed, refused, received  # nothing answered: try again next time

    def _collect_outcomes(self) -> tuple[int, int]:
        """Ask the server what became of the entries it had received (rule D-8) and settle
        them as push answers; one it no longer holds goes back to waiting (D-7)."""
        done = bad = 0
        after = 0
        while True:
            with self.store.transaction() as tx:
                sent = tx.outbox(EntryStatus.SENT, MAX_OUTCOMES, after)
            if not sent:
                return done, bad
            request = OutcomesRequest(self.client_id, tuple(e.seq for e in sent))
            response = self.transport.outcomes(request)
            d, b, _ = self._settle(sent, response, unanswered=EntryStatus.WAITING)
            done, bad = done + d, bad + b
            if len(sent) < MAX_OUTCOMES:
                return done, bad
            after = sent[-1].seq

    def photos_of(self, entry: OutboxEntry) -> Mapping[str, str]:
        """For the app: the upload state of each photo this mutation refers to."""
        shas = list(self.registry.get(entry.name).photos(entry.args))
        return {} if self.photos is None or not shas else self.photos.status_of(shas)

    def waiting_for_photos(self) -> list[OutboxEntry]:
        """For the app: the waiting mutations held back because a photo of theirs is still
        uploading (rule F-13); the ones behind them keep their place (P-1)."""
        with self.store.transaction() as tx:
            waiting = tx.outbox(EntryStatus.WAITING, 1_000_000)
        return [e for e, held in zip(waiting, self._held(waiting), strict=True) if held]

    def _held(self, entries: list[OutboxEntry]) -> list[bool]:
        """Per entry: does it refer to a photo still waiting to upload? (one queue read)"""
        if self.photos is None:
            return [False] * len(entries)
        shas = [list(self.registry.get(e.name).photos(e.args)) for e in entries]
        status = self.photos.status_of({s for of_one in shas for s in of_one})
        return [any(status[s] == "waiting" for s in of_one) for of_one in shas]

    def _ready(self, batch: list[OutboxEntry]) -> list[OutboxEntry]:
        """The batch up to the first mutation whose photos are still uploading: it waits for
        them (order matters), which is bounded because a photo that cannot be uploaded goes to
        "needs attention" after a few tries and the mutation is then sent and answered."""
        for i, held in enumerate(self._held(batch)):
            if held:
                return batch[:i]
        return batch

    def _settle(
        self,
        batch: list[OutboxEntry],
        response: PushResponse,
        unanswered: EntryStatus | None = None,
    ) -> tuple[int, int, int]:
        """Settle the answers for ``batch``: (done, refused, received). ``unanswered``: the
        status for entries without an answer (outcomes: back to waiting); else they stay."""
        by_seq = {e.seq: e for e in batch}
        done = bad = 0
        received: list[int] = []
        # Not durable: lost to a power cut, the entries are sent again and answered the same.
        with self.store.transaction(durable=False) as tx:
            for r in response.results:
                entry = by_seq.pop(r.seq, None)
                if entry is None:
                    continue  # not asked for in this request: ignore
                if r.status is Status.RECEIVED:
                    if entry.status is not EntryStatus.SENT:
                        received.append(entry.seq)  # in the server's inbox: its outcome later
                    continue
                if r.status is Status.REFUSED:
                    tx.put_outbox(
                        replace(
                            entry,
                            status=EntryStatus.ATTENTION,
                            code=r.code,
                            message=r.message,
                            message_zh=r.message_zh,
                        )
                    )
                    bad += 1
                    continue
                apply_changes(tx, r.changes)
                if r.code == "receipt_expired":
                    tx.delete_meta("cursor")  # its echo is lost: resync fully to be sure
                tx.drop_overlay(entry.seq)
                tx.delete_outbox(entry.seq)
                done += 1
            if received:
                tx.set_status(received, EntryStatus.SENT)  # one statement for the batch
            if unanswered is not None and by_seq:
                tx.set_status(sorted(by_seq), unanswered)  # the server lost them: send again
            if done:
                tx.set_meta("sent", str(int(tx.get_meta("sent") or "0") + done))
        return done, bad, len(received)

    def _fetch(self, cursor: str) -> PullPage:
        return self.transport.pull(PullRequest(self.client_id, cursor, self.page_limit, self.scope))

    def _pull_all(self) -> int:
        """Pull pages until the server has no more, applying each with its cursor in one
        local transaction, in order (rule L-7). With ``prefetch`` a thread fetches the pages
        one after the other, each as soon as the one before it has arrived, up to
        ``PREFETCH_DEPTH`` pages ahead of the one being applied: the server's work on the
        next pages overlaps the device's on this one, and no page waits for this thread to
        wake up before it is asked for. A fetched page is applied only after its predecessor
        was; if that fails, the pages fetched ahead are dropped and pulled again next time."""
        pulled = 0
        with self.store.transaction() as tx:
            cursor = tx.get_meta("cursor") or ""
        pages = _fetched_ahead(self._pages(cursor)) if self.prefetch else self._pages(cursor)
        try:
            for page in pages:
                if page.changes or page.reset or page.cursor != cursor:
                    # Not durable: a page lost to a power cut is pulled again.
                    with self.store.transaction(durable=False) as tx:
                        apply_page(tx, page)
                    cursor = page.cursor  # only this loop moves it during a sync
                pulled += len(page.changes)
        finally:
            pages.close()  # with prefetch: a request still in flight ends before we return
        return pulled

    def _pages(self, cursor: str) -> Generator[PullPage, None, None]:
        """The pages from ``cursor`` on, each asked for with the cursor of the one before."""
        for _ in range(self.max_pages):
            page = self._fetch(cursor)
            yield page
            if not page.has_more:
                return
            cursor = page.cursor


PREFETCH_DEPTH = 2  # pages fetched ahead of the one being applied


def _fetched_ahead(pages: Iterator[PullPage]) -> Generator[PullPage, None, None]:
    """``pages`` as they come: the first fetched in this thread (a sync that finds one page,
    the common "nothing new", starts no thread and waits for none), the rest drawn by a
    thread that runs up to ``PREFETCH_DEPTH`` pages ahead; a failure to fetch is raised
    here, in order, after the pages before it. Closing this generator stops the thread and
    waits for it (its request in flight, if any)."""
    first = next(pages, None)
    if first is None:
        return
    if not first.has_more:
        yield first
        return
    ahead: queue.Queue[tuple[PullPage | None, BaseException | None]] = queue.Queue(PREFETCH_DEPTH)
    stop = threading.Event()

    def put(item: tuple[PullPage | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put((page, None)):
                    return
        except Exception as error:  # TransportError, ProtocolError …: raised in order
            put((None, error))
            return
        put((None, None))

    worker = threading.Thread(target=fetch, name="sync-prefetch", daemon=True)
    worker.start()  # it fetches the second page while the first is applied
    try:
        yield first
        while True:
            page, error = ahead.get()
            if error is not None:
                raise error
            if page is None:
                return
            yield page
    finally:
        stop.set()
        while True:  # free a put that is waiting, so the thread sees ``stop`` at once
            try:
                ahead.get_nowait()
            except queue.Empty:
                break
        worker.join()
