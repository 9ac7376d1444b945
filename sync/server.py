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
    Change,
    Json,
    Mutation,
    MutationResult,
    Op,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
    Status,
    check_protocol,
)
from .server_store import NewChange, Peer, Receipt, Record, ServerStore, ServerTx

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
    results: list[MutationResult] = []
    with store.transaction() as tx:
        state = tx.client_state(client_id, peer.key)
        if state.owner != peer.key:
            raise ProtocolError("forbidden")
        receipts = tx.get_receipts(client_id, [m.seq for m in mutations])
        last = state.last_seq
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
            new.append(
                Receipt(client_id, m.seq, m.name, Status.REFUSED, error.code, error.message,
                        error.message_zh, {}, (), now)
            )  # fmt: skip
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
    return results


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
    check_protocol({"protocol": request.protocol})
    unique: dict[int, Mutation] = {}
    for m in request.mutations:
        unique.setdefault(m.seq, m)
    mutations = [unique[seq] for seq in sorted(unique)]
    for _ in range(3):
        try:
            results = _apply(store, registry, request.client_id, mutations, peer, clock, budget)
            return PushResponse(tuple(results))
        except (ReceiptConflict, TransactionLost):
            continue  # a concurrent copy won (its receipts answer us), or the store lost it
    raise SyncError(f"push of {request.client_id} kept conflicting")


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
    """The server configuration: store, registry and clock bound together for the web edge."""

    def __init__(self, store: ServerStore, registry: Registry, clock: Clock) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock

    def push(self, request: PushRequest, peer: Peer) -> PushResponse:
        return apply_push(self.store, self.registry, request, peer, self.clock)

    def pull(self, request: PullRequest, peer: Peer) -> PullPage:
        return pull(self.store, request, peer)

    def writer(self) -> AbstractContextManager[Writer]:
        return writer(self.store, self.clock)
