"""A push is one database transaction with a savepoint per mutation (server/sync_store.py):
each mutation still applies exactly once with its receipt, a refusal undoes only its own
writes, and a transaction lost under the engine never commits receipts without effects."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from server.models.sync import SyncChange, SyncReceipt, SyncRecord
from shared_models.errors import Conflict, InvalidInput
from sync.errors import SyncError
from sync.mutations import Registry
from sync.protocol import Mutation, PushRequest, Status
from sync.server import MutationContext, SyncServer, apply_push
from sync.testkit import FixedClock
from tests.sync import domain
from tests.sync.conftest import START

from .conftest import SqlWorld

PEER = domain.inspector("user:1", "g1")


def _roll_back_then_refuse(ctx: MutationContext, args: Any) -> None:
    """What a use case does after losing an optimistic-concurrency race: roll back, 409."""
    ctx.write("cases", "lost", {"title": "x"}, {domain.DISPATCHERS})
    ctx.tx.session.rollback()  # type: ignore[attr-defined]
    raise Conflict("version_conflict")


def _store_fails(ctx: MutationContext, args: Any) -> None:
    raise SyncError("database: connection lost")


def _server(world: SqlWorld) -> SyncServer:
    reg = domain.registry()
    reg.register("rollback.v1", _roll_back_then_refuse)
    reg.register("store_fails.v1", _store_fails)
    return SyncServer(world.store, reg, world.clock)


def _push(server: SyncServer, *muts: tuple[int, str, dict[str, Any]], **kw: Any) -> Any:
    request = PushRequest("dev", tuple(Mutation("dev", s, n, a) for s, n, a in muts))
    return apply_push(server.store, server.registry, request, PEER, FixedClock(START), **kw)


def _open(seq: int, id: str) -> tuple[int, str, dict[str, Any]]:
    return (seq, "open_case.v1", {"id": id, "title": id, "grid": "g1"})


def _count(world: SqlWorld, model: Any) -> int:
    with world.db.factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_push_is_one_transaction_and_a_refusal_undoes_only_itself(world: SqlWorld) -> None:
    server = _server(world)
    commits: list[int] = []
    event.listen(world.db.engine, "commit", lambda conn: commits.append(1))
    bad_close = (3, "close_case.v1", {"id": "nope"})
    note = (4, "note_case.v1", {"id": "a", "note_id": "n1"})
    crash = (5, "explode.v1", {})
    response = _push(server, _open(1, "a"), _open(2, "b"), bad_close, note, crash, _open(6, "c"))
    assert [r.status for r in response.results] == [
        Status.APPLIED, Status.APPLIED, Status.REFUSED, Status.APPLIED, Status.REFUSED,
        Status.APPLIED,
    ]  # fmt: skip
    assert len(commits) == 1
    records = world.store.records()
    assert set(records) == {("cases", "a"), ("cases", "b"), ("cases", "c")}  # no half-written
    assert records[("cases", "a")].version == 2 and records[("cases", "a")].data["notes"] == ["n1"]
    assert _count(world, SyncReceipt) == 6 and _count(world, SyncChange) == 4
    again = _push(server, _open(1, "a"), _open(2, "b"), bad_close, note, crash, _open(6, "c"))
    assert [r.status for r in again.results] == [
        Status.DUPLICATE, Status.DUPLICATE, Status.REFUSED, Status.DUPLICATE, Status.REFUSED,
        Status.DUPLICATE,
    ]  # fmt: skip
    assert again.results[3].changes == response.results[3].changes
    assert _count(world, SyncChange) == 4


def test_a_transaction_rolled_back_under_the_engine_commits_nothing(world: SqlWorld) -> None:
    server = _server(world)
    with pytest.raises(SyncError):
        _push(server, _open(1, "a"), (2, "rollback.v1", {}), _open(3, "b"))
    assert _count(world, SyncReceipt) == 0 and _count(world, SyncRecord) == 0
    assert _count(world, SyncChange) == 0
    response = _push(server, _open(1, "a"))
    assert [r.status for r in response.results] == [Status.APPLIED]


def test_a_store_failure_keeps_what_was_done_and_the_rest_waits(world: SqlWorld) -> None:
    server = _server(world)
    response = _push(server, _open(1, "a"), (2, "store_fails.v1", {}), _open(3, "b"))
    assert [(r.seq, r.status) for r in response.results] == [(1, Status.APPLIED)]
    assert set(world.store.records()) == {("cases", "a")}
    with pytest.raises(SyncError):  # first in the request: the request fails (HTTP 503)
        _push(server, (2, "store_fails.v1", {}), _open(3, "b"))


def test_a_push_out_of_time_answers_what_it_did(world: SqlWorld) -> None:
    server = _server(world)
    response = _push(server, _open(1, "a"), _open(2, "b"), _open(3, "c"), budget=0.0)
    assert [r.seq for r in response.results] == [1]
    rest = _push(server, _open(2, "b"), _open(3, "c"))
    assert [r.status for r in rest.results] == [Status.APPLIED, Status.APPLIED]


# ---------------------------------------------------------------- batch handlers


def _open_all(contexts: Any, args: Any) -> list[Any]:
    """A batch ``open_case``: refuses a blank title as an outcome; "stop" ends its prefix."""
    out: list[Any] = []
    for ctx, a in zip(contexts, args, strict=True):
        if a["title"] == "stop":
            break
        if not a["title"].strip():
            out.append(InvalidInput(errors={"title": "required"}))
            continue
        out.append(domain.open_case(ctx, a))
    return out


def _explode_all(contexts: Any, args: Any) -> list[Any]:
    contexts[0].write("cases", "half", {"title": "x"}, {domain.DISPATCHERS})
    raise RuntimeError("a bug in the bulk path")


def _batch_server(world: SqlWorld, batch: Any) -> SyncServer:
    reg = Registry()
    reg.register("open_case.v1", domain.open_case, batch=batch)
    reg.register("note_case.v1", domain.note_case)
    return SyncServer(world.store, reg, world.clock)


def test_a_batch_answers_as_one_by_one_and_a_refusal_in_it_writes_nothing(
    world: SqlWorld,
) -> None:
    server = _batch_server(world, _open_all)
    blank = (3, "open_case.v1", {"id": "x", "title": " ", "grid": "g1"})
    stop = (4, "open_case.v1", {"id": "d", "title": "stop", "grid": "g1"})
    note = (6, "note_case.v1", {"id": "a", "note_id": "n1"})
    muts = (_open(1, "a"), _open(2, "b"), blank, stop, _open(5, "c"), note, _open(7, "e"))
    response = _push(server, *muts)
    assert [r.status for r in response.results] == [
        Status.APPLIED, Status.APPLIED, Status.REFUSED, Status.APPLIED, Status.APPLIED,
        Status.APPLIED, Status.APPLIED,
    ]  # fmt: skip
    assert response.results[2].code == "validation_failed"
    records = world.store.records()
    assert set(records) == {("cases", k) for k in "abcde"}  # "stop" went one by one
    assert records[("cases", "a")].data["notes"] == ["n1"]
    assert _count(world, SyncReceipt) == 7 and _count(world, SyncChange) == 6
    again = _push(server, *muts)
    assert [r.status for r in again.results] == [
        Status.DUPLICATE, Status.DUPLICATE, Status.REFUSED, Status.DUPLICATE, Status.DUPLICATE,
        Status.DUPLICATE, Status.DUPLICATE,
    ]  # fmt: skip
    assert [r.changes for r in again.results] == [r.changes for r in response.results]


def test_a_crashing_batch_is_undone_and_its_mutations_go_one_by_one(world: SqlWorld) -> None:
    server = _batch_server(world, _explode_all)
    blank = (2, "open_case.v1", {"id": "x", "title": " ", "grid": "g1"})
    response = _push(server, _open(1, "a"), blank, _open(3, "b"))
    assert [r.status for r in response.results] == [
        Status.APPLIED, Status.REFUSED, Status.APPLIED,
    ]  # fmt: skip
    assert set(world.store.records()) == {("cases", "a"), ("cases", "b")}  # no "half"
    assert _count(world, SyncChange) == 2


def test_a_mutation_naming_photos_is_applied_alone_and_not_offered_to_the_batch(
    world: SqlWorld,
) -> None:
    # Each photo report once restarted the batch over the whole rest of the push (quadratic).
    runs: list[int] = []

    def counting(contexts: Any, args: Any) -> list[Any]:
        runs.append(len(args))
        return _open_all(contexts, args)

    reg = Registry()
    reg.register(
        "open_case.v1", domain.open_case, batch=counting, photos=lambda a: a.get("photos", ())
    )
    server = SyncServer(world.store, reg, world.clock)
    photo = ["ab" * 32]
    with_photos = [
        (seq, "open_case.v1", {"id": f"p{seq}", "title": "t", "grid": "g1", "photos": photo})
        for seq in range(1, 6)
    ]
    response = _push(server, *with_photos, _open(6, "a"), _open(7, "b"))
    assert [r.status for r in response.results] == [Status.APPLIED] * 7
    assert runs == [2]  # only the two without photos, together
    assert len(world.store.records()) == 7
