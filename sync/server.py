"""The server configuration of the sync engine: apply pushes exactly once, serve pulls.

``apply_push`` takes each mutation of a device in ``seq`` order and, in one store
transaction, runs its handler and writes its receipt; a retry finds the receipt and gets the
same answer replayed. ``pull`` serves the change log after a cursor, scoped to what the user
may see, paged, with removals for records they lost access to and a full resync (``reset``)
when the cursor is older than the retention period or the user's scope changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared_models.errors import CgtError, Conflict

from .errors import ProtocolError, ReceiptConflict, SyncError, TransactionLost
from .mutations import Registry
from .protocol import (
    MAX_PUSH,
    Change,
    Json,
    Mutation,
    MutationResult,
    Op,
    OutcomesRequest,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
    Status,
    check_protocol,
)
from .server_store import InboxRow, NewChange, Peer, Receipt, Record, ServerStore, ServerTx

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def view_for(change: NewChange, audiences: frozenset[str]) -> Change | None:
    """The change as a device with ``audiences`` must see it, or None if it concerns them not.

    A record the device could see before and cannot see now arrives as a removal.
    """
    if change.op is Op.UPSERT and change.audience & audiences:
        return Change(change.collection, change.id, Op.UPSERT, change.version, change.data)
    if (change.audience | change.prev_audience) & audiences:
        return Change(change.collection, change.id, Op.REMOVE, change.version, None)
    return None


class Writer:
    """Writes device-facing records and logs their changes; flushed last in the transaction."""

    def __init__(self, tx: ServerTx, origin: str | None, now: datetime) -> None:
        self.tx = tx
        self.origin = origin
        self.now = now
        self.changes: list[NewChange] = []

    def get(self, collection: str, id: str) -> Record | None:
        record = self.tx.get_record(collection, id)
        return None if record is None or record.deleted else record

    def write(
        self,
        collection: str,
        id: str,
        data: Json,
        audience: frozenset[str] | set[str],
        *,
        expect_version: int | None = None,
    ) -> Record:
        """Create or replace a record; ``expect_version`` guards against lost updates."""
        old = self.tx.get_record(collection, id)
        current = 0 if old is None or old.deleted else old.version
        if expect_version is not None and expect_version != current:
            raise Conflict("version_conflict", current=current)
        record = Record(collection, id, (old.version if old else 0) + 1, data, frozenset(audience))
        self.tx.put_record(record)
        prev = frozenset() if old is None or old.deleted else old.audience
        self._log(record, Op.UPSERT, prev)
        return record

    def remove(self, collection: str, id: str) -> None:
        old = self.tx.get_record(collection, id)
        if old is None or old.deleted:
            return
        tomb = Record(collection, id, old.version + 1, {}, old.audience, deleted=True)
        self.tx.put_record(tomb)
        self._log(tomb, Op.REMOVE, old.audience)

    def _log(self, record: Record, op: Op, prev: frozenset[str]) -> None:
        data = record.data if op is Op.UPSERT else None
        self.changes.append(
            NewChange(
                record.collection,
                record.id,
                op,
                record.version,
                data,
                record.audience,
                prev,
                self.origin,
                self.now,
            )
        )

    def flush(self) -> None:
        if self.changes:
            self.tx.append_changes(self.changes)


class MutationContext(Writer):
    """What a handler gets: the writer plus who sent which mutation, based on which version."""

    def __init__(self, tx: ServerTx, peer: Peer, mutation: Mutation, now: datetime) -> None:
        super().__init__(tx, mutation.client_id, now)
        self.peer = peer
        self.actor = peer.actor
        self.client_id = mutation.client_id
        self.seq = mutation.seq
        self.name = mutation.name
        self.base_version = mutation.base_version

    def check_base(self, record: Record | None) -> None:
        """Refuse an edit based on an older version than the server holds (lost update)."""
        current = 0 if record is None else record.version
        if self.base_version is not None and self.base_version != current:
            raise Conflict("version_conflict", current=current)


@contextmanager
def writer(store: ServerStore, clock: Clock) -> Iterator[Writer]:
    """A transaction for server-side writers (web views, jobs): their changes sync too."""
    with store.transaction() as tx:
        w = Writer(tx, None, clock())
        yield w
        w.flush()


# ---------------------------------------------------------------- push

PUSH_BUDGET_S = 10.0  # a push stops taking new mutations after this long (rule P-5)


class _Refused(Exception):
    def __init__(self, error: CgtError) -> None:
        self.error = error


def _replay(r: Receipt) -> MutationResult:
    status = Status.DUPLICATE if r.status is Status.APPLIED else r.status
    return MutationResult(r.seq, status, r.code, r.message, r.message_zh, r.result, r.changes)


def _result(seq: int, status: Status, error: CgtError) -> MutationResult:
    return MutationResult(seq, status, error.code, error.message, error.message_zh, {})


def _run(ctx: MutationContext, registry: Registry, m: Mutation) -> Json:
    try:
        spec = registry.get(m.name)
        if spec.handler is None:
            raise CgtError("unknown_mutation", name=m.name)
        return spec.handler(ctx, dict(m.args)) or {}
    except SyncError:
        raise  # the store failed, not the mutation: nothing is receipted, the device retries
    except CgtError as error:
        raise _Refused(error) from error
    except Exception as error:  # a bug must not loop forever on every retry
        log.exception("mutation %s (%s #%d) crashed", m.name, m.client_id, m.seq)
        raise _Refused(CgtError("internal_error")) from error


def _batch_run(
    registry: Registry, mutations: list[Mutation], i: int, last: int, receipts: dict[int, Receipt]
) -> list[Mutation]:
    """The mutations from ``i`` on that one batch handler may take together: new (no receipt),
    consecutive numbers after ``last``, one name with a batch handler, and no photos (a
    mutation that names photos is applied alone: its photos are attached to what it writes)."""
    try:
        spec = registry.get(mutations[i].name)
    except CgtError:
        return []
    if spec.batch is None:
        return []
    run: list[Mutation] = []
    for m in mutations[i:]:
        if m.name != spec.name or m.seq in receipts or m.seq != last + len(run) + 1:
            break
        if any(True for _ in spec.photos(m.args)):
            break
        run.append(m)
    return run if len(run) > 1 else []


def _run_batch(
    tx: ServerTx, registry: Registry, run: list[Mutation], peer: Peer, clock: Clock
) -> list[tuple[MutationContext, Json | CgtError]]:
    """A run through its batch handler in one savepoint; its outcomes for a prefix of the run.

    Anything but a store that lost the whole transaction makes it as if the batch had not
    been tried (the savepoint is undone): the plain path then takes those mutations one by
    one, with every rule of a single mutation (a crash refuses only its own, P-8).
    """
    spec = registry.get(run[0].name)
    assert spec.batch is not None
    contexts = [MutationContext(tx, peer, m, clock()) for m in run]
    try:
        with tx.savepoint():
            outcomes = list(spec.batch(contexts, [dict(m.args) for m in run]))
    except TransactionLost:
        raise
    except Exception:
        log.exception("batch of %d %s from %s failed; one by one", len(run), spec.name,
                      run[0].client_id)  # fmt: skip
        return []
    return list(zip(contexts, outcomes[: len(run)], strict=False))


def _apply(
    store: ServerStore,
    registry: Registry,
    client_id: str,
    mutations: list[Mutation],
    peer: Peer,
    clock: Clock,
    budget: float,
) -> list[MutationResult]:
    """One transaction for the request: each new mutation in a savepoint of its own.

    Receipts, the client's last seq and the change log are written once, at the end, the
    change-log numbers last (rule C-3). A refusal undoes only its own savepoint (P-6, P-7).
    A store failure on a mutation after others were done stops the request there: what was
    done commits and the rest waits for the next push (P-5); on the first it fails the
    request (P-8). A run of mutations whose name has a batch handler goes through it first
    (one savepoint for the run; a refusal in it has written nothing).
    """
    with store.transaction() as tx:
        state = tx.client_state(client_id, peer.key)
        if state.owner != peer.key:
            raise ProtocolError("forbidden")
        results, _ = _apply_in(tx, state.last_seq, registry, client_id, mutations, peer, clock,
                               budget)  # fmt: skip
    return results


def _apply_in(
    tx: ServerTx,
    last: int,
    registry: Registry,
    client_id: str,
    mutations: list[Mutation],
    peer: Peer,
    clock: Clock,
    budget: float,
) -> tuple[list[MutationResult], int]:
    """``_apply``'s work in the caller's transaction, the client's row locked and its last
    receipted seq ``last``; the results, and the last receipted seq after it."""
    results: list[MutationResult] = []
    receipts = tx.get_receipts(client_id, [m.seq for m in mutations])
    new: list[Receipt] = []
    changes: list[NewChange] = []
    started = time.monotonic()

    def applied(m: Mutation, ctx: MutationContext, result: Json) -> None:
        echo = tuple(c for c in (view_for(ch, peer.audiences) for ch in ctx.changes) if c)
        new.append(
            Receipt(client_id, m.seq, m.name, Status.APPLIED, None, None, None, result,
                    echo, ctx.now)
        )  # fmt: skip
        changes.extend(ctx.changes)
        results.append(MutationResult(m.seq, Status.APPLIED, result=result, changes=echo))

    def refused(m: Mutation, error: CgtError, now: datetime) -> None:
        new.append(Receipt.refusal(client_id, m.seq, m.name, error, now))
        results.append(_result(m.seq, Status.REFUSED, error))

    i = 0
    while i < len(mutations):
        m = mutations[i]
        receipt = receipts.get(m.seq)
        if receipt is not None:
            results.append(_replay(receipt))
            i += 1
            continue
        if m.seq <= last:  # applied long ago, receipt pruned (P-9)
            results.append(_result(m.seq, Status.DUPLICATE, CgtError("receipt_expired")))
            i += 1
            continue
        if m.seq != last + 1 or (new and time.monotonic() - started > budget):
            break  # a gap (P-4), or out of time (P-5): the rest waits
        run = _batch_run(registry, mutations, i, last, receipts)
        done = _run_batch(tx, registry, run, peer, clock) if run else []
        for ctx, outcome in done:
            mutation = mutations[i]
            if isinstance(outcome, CgtError):
                refused(mutation, outcome, ctx.now)
            else:
                applied(mutation, ctx, outcome)
            last = mutation.seq
            i += 1
        if done:
            continue
        now = clock()
        ctx = MutationContext(tx, peer, m, now)
        try:
            with tx.savepoint():
                result = _run(ctx, registry, m)
        except _Refused as error:
            refused(m, error.error, now)  # the savepoint undid the handler's writes
        except TransactionLost:
            raise
        except SyncError:
            if not new:
                raise
            break
        else:
            applied(m, ctx, result)
        last = m.seq
        i += 1
    if new:
        tx.put_receipts(new)
        tx.set_last_seq(client_id, last)
        if changes:
            tx.append_changes(changes)  # last: the counter's lock until commit (C-3)
    return results, last


def _in_order(request: PushRequest) -> list[Mutation]:
    """The request's mutations in seq order, the first copy of a repeated seq only."""
    check_protocol({"protocol": request.protocol})
    unique: dict[int, Mutation] = {}
    for m in request.mutations:
        unique.setdefault(m.seq, m)
    return [unique[seq] for seq in sorted(unique)]


def apply_push(
    store: ServerStore,
    registry: Registry,
    request: PushRequest,
    peer: Peer,
    clock: Clock,
    budget: float = PUSH_BUDGET_S,
) -> PushResponse:
    """Apply a device's mutations exactly once each, in seq order; one result per mutation.

    A mutation whose predecessor has no receipt yet (a gap: an earlier batch is still on its
    way) is left without a result, and so are the ones after it; the device sends them again.
    """
    mutations = _in_order(request)
    for _ in range(3):
        try:
            results = _apply(store, registry, request.client_id, mutations, peer, clock, budget)
            return PushResponse(tuple(results))
        except (ReceiptConflict, TransactionLost):
            continue  # a concurrent copy won (its receipts answer us), or the store lost it
    raise SyncError(f"push of {request.client_id} kept conflicting")


# ---------------------------------------------------------------- deferred pushes

INBOX_CLIENTS = 100  # clients taken per round of ``apply_inbox``
INBOX_TURN = 10  # batches of one client before the next client's turn
# What the applier asks of the application: the Peer of a user key (an inbox row's pusher),
# as of now, or the CgtError that refuses their mutations (an account disabled since, D-5).
PeerLookup = Callable[[str], "Peer | CgtError"]


def _received(seq: int) -> MutationResult:
    return MutationResult(seq, Status.RECEIVED)


def receive_push(
    store: ServerStore, registry: Registry, request: PushRequest, peer: Peer, clock: Clock
) -> PushResponse:
    """A deferred push (``defer``): each new mutation only goes into the inbox, durably, in
    one statement and one commit under the client's lock, and answers ``received``; the
    applier applies it right behind (``apply_inbox``). A mutation with a receipt is replayed
    as ever (P-3, P-9); one already in the inbox answers ``received`` again; the gap rule
    (P-4) counts receipts and inbox rows. An unknown mutation name is refused at once when
    nothing of the client waits before it in the inbox (the receipt order stays the seq
    order); behind waiting rows it is queued and the applier refuses it (D-4)."""
    mutations = _in_order(request)
    for _ in range(3):
        try:
            return PushResponse(tuple(_receive(store, registry, mutations, request, peer, clock)))
        except ReceiptConflict:
            continue  # a concurrent copy won: its rows answer us now
    raise SyncError(f"deferred push of {request.client_id} kept conflicting")


def _receive(
    store: ServerStore,
    registry: Registry,
    mutations: list[Mutation],
    request: PushRequest,
    peer: Peer,
    clock: Clock,
) -> list[MutationResult]:
    client_id = request.client_id
    results: list[MutationResult] = []
    with store.transaction() as tx:
        state = tx.client_state(client_id, peer.key)  # locked (P-10)
        if state.owner != peer.key:
            raise ProtocolError("forbidden")
        if not mutations:
            return results
        last = state.last_seq
        low, high = mutations[0].seq, mutations[-1].seq
        receipts = tx.get_receipts(client_id, [m.seq for m in mutations]) if low <= last else {}
        top = max(last, tx.inbox_top(client_id))
        queued = tx.inbox_seqs(client_id, low, high) if low <= top else set()
        rows: list[InboxRow] = []
        refusals: list[Receipt] = []
        now = clock()
        for m in mutations:
            receipt = receipts.get(m.seq)
            if receipt is not None:
                results.append(_replay(receipt))
            elif m.seq in queued:
                results.append(_received(m.seq))
            elif m.seq <= last:  # applied long ago, receipt pruned (P-9)
                results.append(_result(m.seq, Status.DUPLICATE, CgtError("receipt_expired")))
            elif m.seq != top + 1:
                break  # a gap (P-4): the rest waits
            elif top == last and not registry.serves(m.name):
                error = CgtError("unknown_mutation", name=m.name)  # nothing waits before it
                refusals.append(Receipt.refusal(client_id, m.seq, m.name, error, now))
                results.append(_result(m.seq, Status.REFUSED, error))
                last = top = m.seq
            else:
                rows.append(
                    InboxRow(client_id, m.seq, peer.key, m.name, m.args, m.base_version, now)
                )
                results.append(_received(m.seq))
                top = m.seq
        if rows:
            tx.put_inbox(rows)
        if refusals:
            tx.put_receipts(refusals)
            tx.set_last_seq(client_id, last)
    return results


def outcomes(store: ServerStore, request: OutcomesRequest, peer: Peer) -> PushResponse:
    """What became of these mutations of the caller's own client (D-6): the receipt's answer
    (``applied`` with its changes, or ``refused``), ``received`` while still in the inbox,
    ``duplicate``/``receipt_expired`` at or below the last receipted seq, and no result for
    a seq the server does not hold at all (lost, e.g. a restore from a backup): the device
    sends it again (D-7). Another user's client id is ``forbidden`` (I-5)."""
    check_protocol({"protocol": request.protocol})
    seqs = sorted(set(request.seqs))
    if not seqs:
        return PushResponse(())
    with store.transaction() as tx:
        state = tx.peek_client(request.client_id)
        if state is None:
            return PushResponse(())
        if state.owner != peer.key:
            raise ProtocolError("forbidden")
        # The inbox before the receipts: a mutation applied in between is then in the one
        # read or the other (its row and its receipt change in one transaction).
        queued = tx.inbox_seqs(request.client_id, seqs[0], seqs[-1])
        receipts = tx.get_receipts(request.client_id, seqs)
    results: list[MutationResult] = []
    for seq in seqs:
        r = receipts.get(seq)
        if r is not None:
            results.append(
                MutationResult(seq, r.status, r.code, r.message, r.message_zh, r.result, r.changes)
            )
        elif seq in queued:
            results.append(_received(seq))
        elif seq <= state.last_seq:
            results.append(_result(seq, Status.DUPLICATE, CgtError("receipt_expired")))
    return PushResponse(tuple(results))


def apply_inbox(
    store: ServerStore,
    registry: Registry,
    peers: PeerLookup,
    clock: Clock,
    *,
    limit: int = MAX_PUSH,
    budget: float = PUSH_BUDGET_S,
    pause: Callable[[], bool] | None = None,
) -> int:
    """Apply what waits in the inbox (rule D-5) until nothing more can be taken, or until
    ``pause()`` says to stop for now (asked before each batch: the server's applier lets a
    burst of pushes go first); the number of mutations receipted.

    Client by client, each in seq order, ``limit`` at a time, each batch exactly as a push
    of those mutations would be (``_apply_in``: the same handlers and batch handlers, one
    transaction, receipts, change log), as the user who pushed them, looked up now. The rows
    are deleted in the transaction that writes their receipts. A client another process is
    applying is skipped (its row is locked). A store failure raises ``SyncError`` with the
    rows left in place (the caller retries later, backing off)."""
    total = 0
    while True:
        with store.transaction() as tx:
            clients = tx.inbox_clients(INBOX_CLIENTS)
        progress = 0
        for client_id, owner in clients:
            for _ in range(INBOX_TURN):  # a client's long queue in turns, then the next's
                if pause is not None and pause():
                    return total + progress
                done = _apply_client_inbox(
                    store, registry, peers, clock, client_id, owner, limit, budget
                )
                progress += done
                if done < limit:
                    break
        total += progress
        if not progress:
            return total


def _apply_client_inbox(
    store: ServerStore,
    registry: Registry,
    peers: PeerLookup,
    clock: Clock,
    client_id: str,
    owner: str,
    limit: int,
    budget: float,
) -> int:
    peer = peers(owner)  # before the transaction: it reads the user as it is now
    for _ in range(3):
        try:
            with store.transaction() as tx:
                state = tx.claim_client(client_id)
                if state is None:
                    return 0  # another process applies this client now
                rows = tx.inbox_rows(client_id, limit)
                if not rows:
                    return 0
                same = [r.owner == owner for r in rows]
                rows = rows[: same.index(False)] if False in same else rows  # (one owner)
                mutations = [
                    Mutation(client_id, r.seq, r.name, r.args, r.base_version) for r in rows
                ]
                before = state.last_seq
                if isinstance(peer, CgtError):
                    last = _refuse_all(tx, client_id, before, mutations, peer, clock())
                else:
                    _, last = _apply_in(
                        tx, before, registry, client_id, mutations, peer, clock, budget
                    )
                if last == before and rows[0].seq > before + 1:
                    log.warning("inbox of %s starts at #%d after #%d", client_id, rows[0].seq,
                                before)  # fmt: skip
                tx.drop_inbox(client_id, last)
                stale = sum(1 for r in rows if r.seq <= before)  # receipted by a plain push
                return last - before + stale
        except (ReceiptConflict, TransactionLost):
            continue  # a concurrent writer won; its receipts answer on the next round
    return 0


def _refuse_all(
    tx: ServerTx,
    client_id: str,
    last: int,
    mutations: list[Mutation],
    error: CgtError,
    now: datetime,
) -> int:
    """The user may no longer act (disabled since they pushed): every waiting mutation is
    refused with the reason, receipted, never silently dropped (D-5)."""
    receipts = tx.get_receipts(client_id, [m.seq for m in mutations])
    new = []
    for m in mutations:
        if m.seq in receipts or m.seq <= last:
            continue
        if m.seq != last + 1:
            break
        new.append(Receipt.refusal(client_id, m.seq, m.name, error, now))
        last = m.seq
    if new:
        tx.put_receipts(new)
        tx.set_last_seq(client_id, last)
    return last


# ---------------------------------------------------------------- pull


@dataclass(frozen=True)
class _Position:
    kind: Literal["c", "s"]  # c: change log after n; s: snapshot taken at high water n
    n: int
    after: tuple[str, str] | None
    scope: str

    def encode(self) -> str:
        raw = json.dumps([1, self.kind, self.n, self.after, self.scope], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> _Position | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            version, kind, n, after, scope = json.loads(raw)
            if version != 1 or kind not in ("c", "s") or not isinstance(n, int):
                return None
            key = (str(after[0]), str(after[1])) if after else None
            return cls(kind, n, key, str(scope))
        except (ValueError, TypeError, IndexError):
            return None


def scope_key(peer: Peer, collections: tuple[str, ...]) -> str:
    raw = json.dumps([sorted(peer.audiences), sorted(collections)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def pull(store: ServerStore, request: PullRequest, peer: Peer) -> PullPage:
    """One page of what changed for this user after the request's cursor."""
    check_protocol({"protocol": request.protocol})
    key = scope_key(peer, request.scope)
    pos = _Position.decode(request.cursor) if request.cursor else None
    with store.transaction() as tx:
        reset = (
            pos is None
            or pos.scope != key
            or (pos.kind == "c" and pos.n < tx.min_retained_cursor())
        )
        if pos is None or reset:
            pos = _Position("s", tx.high_water(), None, key)
        if pos.kind == "s":
            records = tx.records_after(pos.after, peer.audiences, request.scope, request.limit + 1)
            page = records[: request.limit]
            changes = tuple(Change(r.collection, r.id, Op.UPSERT, r.version, r.data) for r in page)
            if len(records) > request.limit:
                nxt = _Position("s", pos.n, (page[-1].collection, page[-1].id), key)
            else:
                nxt = _Position("c", pos.n, None, key)  # snapshot done: the log from its start
            return PullPage(changes, nxt.encode(), has_more=True, reset=reset)
        high = tx.high_water()  # read first: only changes at or below it are surely committed
        rows = tx.changes_after(
            pos.n, high, peer.audiences, request.scope, request.client_id, request.limit
        )
        seen = tuple(c for c in (view_for(r.change, peer.audiences) for r in rows) if c)
        full = len(rows) >= request.limit
        last = rows[-1].cursor if full else high
        return PullPage(seen, _Position("c", last, None, key).encode(), has_more=last < high)


def prune(
    store: ServerStore,
    now: datetime,
    retention: timedelta,
    receipt_retention: timedelta | None = None,
) -> None:
    """Forget changes older than the retention period and applied receipts older than theirs
    (default: the same); a nightly job (``flask cgt sync-prune``)."""
    with store.transaction() as tx:
        tx.prune(now - retention, now - (receipt_retention or retention))


class SyncServer:
    """The server configuration: store, registry and clock bound together for the web edge.

    ``peers`` looks up a user for the inbox's applier (``apply_inbox``); ``on_received`` is
    called after a deferred push put mutations in the inbox (it wakes the applier)."""

    def __init__(
        self,
        store: ServerStore,
        registry: Registry,
        clock: Clock,
        peers: PeerLookup | None = None,
        on_received: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.peers = peers
        self.on_received = on_received

    def push(self, request: PushRequest, peer: Peer) -> PushResponse:
        if not request.defer:
            return apply_push(self.store, self.registry, request, peer, self.clock)
        response = receive_push(self.store, self.registry, request, peer, self.clock)
        if self.on_received is not None and any(
            r.status is Status.RECEIVED for r in response.results
        ):
            self.on_received()
        return response

    def outcomes(self, request: OutcomesRequest, peer: Peer) -> PushResponse:
        return outcomes(self.store, request, peer)

    def apply_inbox(self, limit: int = MAX_PUSH, pause: Callable[[], bool] | None = None) -> int:
        """Apply everything waiting in the inbox now (the applier's work; tests call it)."""
        if self.peers is None:
            raise SyncError("no peer lookup: this server cannot apply its inbox")
        return apply_inbox(
            self.store, self.registry, self.peers, self.clock, limit=limit, pause=pause
        )

    def pull(self, request: PullRequest, peer: Peer) -> PullPage:
        return pull(self.store, request, peer)

    def writer(self) -> AbstractContextManager[Writer]:
        return writer(self.store, self.clock)
