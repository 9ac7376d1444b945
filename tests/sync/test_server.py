"""The server engine: exactly once, receipts, refusals that never block, scoped paged pulls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.errors import ProtocolError
from sync.protocol import Mutation, Op, PullRequest, PushRequest, Status
from sync.server import prune, writer
from sync.server_store import NewChange

from . import domain
from .conftest import World

A = domain.inspector("insp-a", "A")
B = domain.inspector("insp-b", "B")
D = domain.dispatcher("disp")


def push(world: World, client: str, *mutations: tuple[int, str, dict[str, object]], peer=A):  # type: ignore[no-untyped-def]
    request = PushRequest(client, tuple(Mutation(client, s, n, a) for s, n, a in mutations))
    return world.server.push(request, peer).results


def open_args(id: str, grid: str = "A", title: str = "占道经营") -> dict[str, object]:
    return {"id": id, "title": title, "grid": grid}


def test_a_retried_mutation_is_applied_once_and_replayed(world: World) -> None:
    first = push(world, "d1", (1, "open_case.v1", open_args("c1")))
    again = push(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert first[0].status is Status.APPLIED
    assert again[0].status is Status.DUPLICATE
    assert again[0].result == first[0].result and again[0].changes == first[0].changes
    assert world.store.records()[("cases", "c1")].data["applied"] == ["d1#1"]


def test_a_refusal_is_receipted_and_does_not_block_the_rest(world: World) -> None:
    results = push(
        world,
        "d1",
        (1, "open_case.v1", open_args("c1")),
        (2, "open_case.v1", open_args("c2", title=" ")),
        (3, "note_case.v1", {"id": "c1", "note_id": "n1"}),
    )
    assert [r.status for r in results] == [Status.APPLIED, Status.REFUSED, Status.APPLIED]
    refused = results[1]
    assert refused.code == "validation_failed" and refused.message_zh
    retry = push(world, "d1", (2, "open_case.v1", open_args("c2")))  # different args, same seq
    assert retry[0].status is Status.REFUSED and retry[0].code == "validation_failed"


def test_a_crashing_handler_writes_nothing_and_is_refused_once(world: World) -> None:
    results = push(world, "d1", (1, "explode.v1", {}), (2, "open_case.v1", open_args("c1")))
    assert [r.code for r in results] == ["internal_error", None]
    assert ("cases", "half-written") not in world.store.records()


def test_an_unknown_mutation_is_refused_with_update_advice(world: World) -> None:
    (result,) = push(world, "d1", (1, "teleport_case.v9", {}))
    assert result.status is Status.REFUSED and result.code == "unknown_mutation"
    assert "teleport_case.v9" in result.message  # type: ignore[operator]


def test_a_gap_in_numbering_waits_for_the_missing_batch(world: World) -> None:
    late = push(world, "d1", (3, "open_case.v1", open_args("c3")))
    assert late == ()
    results = push(
        world,
        "d1",
        (1, "open_case.v1", open_args("c1")),
        (2, "note_case.v1", {"id": "c1", "note_id": "n"}),
        (3, "open_case.v1", open_args("c3")),
    )
    assert [r.status for r in results] == [Status.APPLIED] * 3


def test_another_user_cannot_use_a_client_id(world: World) -> None:
    push(world, "d1", (1, "open_case.v1", open_args("c1")))
    with pytest.raises(ProtocolError) as caught:
        push(world, "d1", (1, "open_case.v1", open_args("c1")), peer=B)
    assert caught.value.code == "forbidden"


def test_an_expired_receipt_still_answers_duplicate(world: World) -> None:
    push(world, "d1", (1, "open_case.v1", open_args("c1")))
    world.clock.advance(days=40)
    prune(world.store, world.clock(), timedelta(days=30))
    (result,) = push(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert result.status is Status.DUPLICATE and result.code == "receipt_expired"


def pull_all(world: World, peer, client: str = "other", cursor: str = "", limit: int = 100):  # type: ignore[no-untyped-def]
    pages = []
    while True:
        page = world.server.pull(PullRequest(client, cursor, limit), peer)
        pages.append(page)
        cursor = page.cursor
        if not page.has_more:
            return pages, cursor


def test_pull_is_scoped_paged_and_incremental(world: World) -> None:
    for i in range(5):
        push(world, "dd", (i + 1, "open_case.v1", open_args(f"a{i}", "A")), peer=D)
        push(world, "db", (i + 1, "open_case.v1", open_args(f"b{i}", "B")), peer=B)
    pages, cursor = pull_all(world, A, limit=2)
    ids = [c.id for p in pages for c in p.changes]
    assert sorted(ids) == [f"a{i}" for i in range(5)] and pages[0].reset
    assert len(pages) >= 3
    push(world, "dd", (6, "note_case.v1", {"id": "a1", "note_id": "n"}), peer=D)
    pages, _ = pull_all(world, A, cursor=cursor)
    assert [(c.id, c.version) for p in pages for c in p.changes] == [("a1", 2)]
    assert not pages[0].reset


def test_losing_access_arrives_as_a_removal(world: World) -> None:
    push(world, "dd", (1, "open_case.v1", open_args("c1", "A")), peer=D)
    _, cursor = pull_all(world, A)
    push(world, "dd", (2, "move_case.v1", {"id": "c1", "grid": "B"}), peer=D)
    pages, _ = pull_all(world, A, cursor=cursor)
    assert [(c.id, c.op) for p in pages for c in p.changes] == [("c1", Op.REMOVE)]


def test_own_pushes_do_not_come_back_but_are_echoed(world: World) -> None:
    _, cursor = pull_all(world, A, client="d1")
    (result,) = push(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert [(c.id, c.version) for c in result.changes] == [("c1", 1)]
    pages, cursor = pull_all(world, A, client="d1", cursor=cursor)
    assert [c for p in pages for c in p.changes] == []
    push(world, "d2", (1, "note_case.v1", {"id": "c1", "note_id": "n"}))  # someone else edits
    pages, _ = pull_all(world, A, client="d1", cursor=cursor)
    assert [(c.id, c.version) for p in pages for c in p.changes] == [("c1", 2)]


def test_an_old_or_foreign_cursor_gets_a_full_resync(world: World) -> None:
    push(world, "dd", (1, "open_case.v1", open_args("c1", "A")), peer=D)
    _, cursor = pull_all(world, A)
    world.clock.advance(days=40)
    push(world, "dd", (2, "open_case.v1", open_args("c2", "A")), peer=D)
    prune(world.store, world.clock() - timedelta(days=1), timedelta(days=30))
    pages, _ = pull_all(world, A, cursor=cursor)
    assert not pages[0].reset  # the changes after this cursor are all still there
    world.clock.advance(days=40)
    prune(world.store, world.clock(), timedelta(days=30))
    pages, _ = pull_all(world, A, cursor=cursor)
    assert pages[0].reset and {c.id for p in pages for c in p.changes} == {"c1", "c2"}
    moved = domain.inspector("insp-a", "B")  # the inspector now works another grid
    _, cursor = pull_all(world, A)
    pages, _ = pull_all(world, moved, cursor=cursor)
    assert pages[0].reset and [c.id for p in pages for c in p.changes] == []
    garbage, _ = pull_all(world, A, cursor="not-a-cursor")
    assert garbage[0].reset


def test_a_change_committing_late_is_not_skipped(world: World) -> None:
    """The PostgreSQL trap: numbers taken early and committed late must not be passed over."""
    _, cursor = pull_all(world, D)
    store = world.store
    slow = store.transaction()
    slow_tx = slow.__enter__()  # begins first, commits last
    with writer(store, world.clock) as w:
        w.write("cases", "fast", {"title": "fast"}, {domain.DISPATCHERS})
    first, cursor = pull_all(world, D, cursor=cursor)
    assert [c.id for p in first for c in p.changes] == ["fast"]
    change = NewChange(
        "cases",
        "slow",
        Op.UPSERT,
        1,
        {"title": "slow"},
        frozenset({domain.DISPATCHERS}),
        frozenset(),
        None,
        world.clock(),
    )
    slow_tx.append_changes([change])
    slow.__exit__(None, None, None)
    later, _ = pull_all(world, D, cursor=cursor)
    assert [c.id for p in later for c in p.changes] == ["slow"]
