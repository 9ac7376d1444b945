"""Deferred pushes (docs/sync-protocol.md, rules D-1 … D-9): the server answers ``received``
once the mutations are durably in its inbox and applies them right behind; the device keeps
them as sent (已发送) and settles their outcomes at its next sync.

Run on the in-memory store here and on the SQL store (both engines) through
tests/sync_server/test_store_contract.py. The applier is driven explicitly
(``SyncServer.apply_inbox``): no test depends on a thread.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared_models.errors import CgtError
from sync.client_store import EntryStatus
from sync.errors import ProtocolError
from sync.protocol import Mutation, OutcomesRequest, PushRequest, Status
from sync.server import prune
from sync.server_store import Peer
from sync.testkit import AppKilled, MemoryClientStore, MemoryServerStore, ServerCrashed

from . import domain
from .conftest import World

A = domain.inspector("insp-a", "A")
B = domain.inspector("insp-b", "B")


def deferred(world: World, client: str, *mutations: tuple[int, str, dict[str, object]],
             peer: Peer = A):  # type: ignore[no-untyped-def]  # fmt: skip
    world.join(peer)
    request = PushRequest(
        client, tuple(Mutation(client, s, n, a) for s, n, a in mutations), defer=True
    )
    return world.server.push(request, peer).results


def open_args(id: str, grid: str = "A", title: str = "占道经营") -> dict[str, object]:
    return {"id": id, "title": title, "grid": grid}


def inbox(world: World) -> set[tuple[str, int]]:
    return set(world.store.inbox())  # type: ignore[attr-defined]


def test_a_deferred_push_is_received_then_applied_behind(world: World) -> None:
    results = deferred(
        world, "d1", (1, "open_case.v1", open_args("c1")), (2, "open_case.v1", open_args("c2"))
    )
    assert [r.status for r in results] == [Status.RECEIVED, Status.RECEIVED]
    assert all(r.changes == () and r.result == {} and r.code is None for r in results)
    assert inbox(world) == {("d1", 1), ("d1", 2)}
    assert ("cases", "c1") not in world.store.records()  # received, not applied yet
    assert world.server.apply_inbox() == 2
    assert inbox(world) == set()
    assert world.store.records()[("cases", "c2")].data["applied"] == ["d1#2"]
    # a retry of the push now gets the receipts' answers, applied once
    again = deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert again[0].status is Status.DUPLICATE and again[0].changes
    assert world.server.apply_inbox() == 0


def test_a_retried_deferred_push_is_received_once(world: World) -> None:
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    again = deferred(
        world, "d1", (1, "open_case.v1", open_args("c1")), (2, "note_case.v1", {"id": "c1",
                                                                             "note_id": "n"})
    )  # fmt: skip
    assert [r.status for r in again] == [Status.RECEIVED, Status.RECEIVED]
    assert inbox(world) == {("d1", 1), ("d1", 2)}
    world.server.apply_inbox()
    assert world.store.records()[("cases", "c1")].data["applied"] == ["d1#1", "d1#2"]


def test_the_gap_rule_counts_inbox_rows(world: World) -> None:
    assert deferred(world, "d1", (2, "open_case.v1", open_args("c2"))) == ()
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert [r.status for r in deferred(world, "d1", (2, "open_case.v1", open_args("c2")))] == [
        Status.RECEIVED
    ]
    assert deferred(world, "d1", (4, "open_case.v1", open_args("c4"))) == ()  # 3 missing
    world.server.apply_inbox()
    assert {("cases", "c1"), ("cases", "c2")} <= set(world.store.records())


def test_an_unknown_mutation_is_refused_at_once_unless_others_wait_before_it(
    world: World,
) -> None:
    first = deferred(world, "d1", (1, "teleport.v1", {}))
    assert first[0].status is Status.REFUSED and first[0].code == "unknown_mutation"
    behind = deferred(world, "d1", (2, "open_case.v1", open_args("c2")), (3, "teleport.v1", {}))
    assert [r.status for r in behind] == [Status.RECEIVED, Status.RECEIVED]  # order kept
    world.server.apply_inbox()
    out = world.server.outcomes(OutcomesRequest("d1", (1, 2, 3)), A).results
    assert [(r.seq, r.status, r.code) for r in out] == [
        (1, Status.REFUSED, "unknown_mutation"),
        (2, Status.APPLIED, None),
        (3, Status.REFUSED, "unknown_mutation"),
    ]


def test_outcomes_answer_each_state_and_only_to_the_owner(world: World) -> None:
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    world.server.apply_inbox()
    deferred(world, "d1", (2, "open_case.v1", open_args("c2", title=" ")))
    world.server.apply_inbox()
    deferred(world, "d1", (3, "note_case.v1", {"id": "c1", "note_id": "n"}))
    out = world.server.outcomes(OutcomesRequest("d1", (1, 2, 3, 4)), A).results
    assert [(r.seq, r.status) for r in out] == [
        (1, Status.APPLIED),
        (2, Status.REFUSED),
        (3, Status.RECEIVED),
    ]  # 4: not held at all, no result
    assert out[0].changes and out[0].changes[0].id == "c1"
    assert out[1].code == "validation_failed" and out[1].message_zh
    with pytest.raises(ProtocolError) as refused:
        world.server.outcomes(OutcomesRequest("d1", (1, 2, 3)), B)
    assert refused.value.code == "forbidden"
    assert world.server.outcomes(OutcomesRequest("nobody", (1,)), B).results == ()


def test_a_user_disabled_since_the_push_gets_refusals_not_silence(world: World) -> None:
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")), (2, "open_case.v1",
                                                                  open_args("c2")))  # fmt: skip
    del world.peers[A.key]  # the account is disabled before the applier runs
    assert world.server.apply_inbox() == 2
    assert inbox(world) == set()
    out = world.server.outcomes(OutcomesRequest("d1", (1, 2)), A).results
    assert [(r.status, r.code) for r in out] == [(Status.REFUSED, "account_disabled")] * 2
    assert ("cases", "c1") not in world.store.records()


def test_a_plain_push_of_a_queued_mutation_applies_it_once(world: World) -> None:
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    plain = PushRequest("d1", (Mutation("d1", 1, "open_case.v1", open_args("c1")),))
    assert world.server.push(plain, A).results[0].status is Status.APPLIED
    world.server.apply_inbox()  # finds the row receipted: drops it, applies nothing again
    assert inbox(world) == set()
    assert world.store.records()[("cases", "c1")].data["applied"] == ["d1#1"]


def test_the_device_keeps_received_entries_as_sent_then_settles_them(world: World) -> None:
    phone, loop = world.device("p", A, defer=True)
    one = phone.record("open_case.v1", open_args("c1"))
    two = phone.record("open_case.v1", open_args("c2", title=" "))
    report = phone.sync()
    assert report.ok and report.received == 2 and report.pushed == 0
    counts = phone.counts()
    assert (counts.waiting, counts.received, counts.needs_attention) == (0, 2, 0)
    assert [e.seq for e in phone.sent()] == [one.seq, two.seq]
    assert phone.get("cases", "c1") is not None  # the optimistic view stays
    world.server.apply_inbox()
    report = phone.sync()
    assert report.ok and (report.pushed, report.refused) == (1, 1)
    counts = phone.counts()
    assert (counts.waiting, counts.received, counts.needs_attention) == (0, 0, 1)
    (attention,) = phone.needs_attention()
    assert attention.seq == two.seq and attention.code == "validation_failed"
    assert attention.message and attention.message_zh
    assert phone.get("cases", "c1")["applied"] == [f"{phone.client_id}#{one.seq}"]
    assert phone.version_of("cases", "c1") == 1  # the server's copy, from the outcome's echo


def test_entries_the_server_lost_are_sent_again_never_lost(world: World) -> None:
    phone, _ = world.device("p", A, defer=True)
    for i in range(3):
        phone.record("open_case.v1", open_args(f"c{i}"))
    phone.sync()
    world.store.lose_inbox()  # type: ignore[attr-defined]  # restored from an older backup
    later = phone.record("note_case.v1", {"id": "c0", "note_id": "n"})
    phone.sync()  # the new one meets a gap; the three are unknown: back to waiting
    assert {e.status for e in phone.waiting()} == {EntryStatus.WAITING}
    assert len(phone.waiting()) == 4 and phone.sent() == []
    phone.sync()  # all four sent again, received
    world.server.apply_inbox()
    phone.sync()
    assert phone.waiting() == [] and phone.sent() == [] and phone.needs_attention() == []
    records = world.store.records()
    assert records[("cases", "c0")].data["applied"] == [
        f"{phone.client_id}#1",
        f"{phone.client_id}#{later.seq}",
    ]


def test_the_app_killed_while_settling_outcomes_settles_them_next_time(world: World) -> None:
    store = MemoryClientStore()
    phone, _ = world.device("p", A, store=store, defer=True)
    phone.record("open_case.v1", open_args("c1"))
    phone.sync()
    world.server.apply_inbox()
    store.kill_at(2)  # the (empty) waiting read, the sent read; settling the outcomes dies
    with pytest.raises(AppKilled):
        phone.sync()
    assert len(phone.sent()) == 1  # nothing of the settle happened
    phone, _ = world.device("p", A, store=store, defer=True)  # the app starts again
    assert phone.sync().ok
    assert phone.sent() == [] and phone.get("cases", "c1") is not None
    assert phone.counts().received == 0


def test_a_server_dying_while_applying_leaves_the_rows_to_apply_later(world: World) -> None:
    if not isinstance(world.store, MemoryServerStore):
        pytest.skip("the crash is injected into the in-memory store")
    deferred(world, "d1", *((i, "open_case.v1", open_args(f"c{i}")) for i in range(1, 6)))
    world.store.crash_after(2)
    with pytest.raises(ServerCrashed):
        world.server.apply_inbox()
    world.store.crash_after_cancel()
    assert len(inbox(world)) == 5 and not world.store.receipts()
    assert world.server.apply_inbox() == 5
    assert len(world.store.receipts()) == 5 and inbox(world) == set()


def test_a_client_being_applied_elsewhere_is_skipped(world: World) -> None:
    if not isinstance(world.store, MemoryServerStore):
        pytest.skip("two processes on PostgreSQL: tests/sync_server/test_concurrency.py")
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    with world.store.transaction() as other:
        assert other.claim_client("d1") is not None  # another process holds d1
        assert world.server.apply_inbox() == 0
    assert world.server.apply_inbox() == 1


def test_deferred_requests_may_be_larger_but_not_unbounded() -> None:
    many = [Mutation("d1", i, "open_case.v1", {}).to_json() for i in range(1, 1002)]
    doc = {"protocol": 1, "client_id": "d1", "mutations": many[:1000], "defer": True}
    assert len(PushRequest.from_json(doc).mutations) == 1000
    with pytest.raises(ProtocolError):
        PushRequest.from_json({**doc, "defer": False})  # a plain push: 100 at most
    with pytest.raises(ProtocolError):
        PushRequest.from_json({**doc, "mutations": many})
    with pytest.raises(ProtocolError) as bad:
        PushRequest.from_json({**doc, "defer": "yes"})
    assert bad.value.errors == {"defer": "must be a boolean"}
    with pytest.raises(ProtocolError) as bad:
        OutcomesRequest.from_json({"protocol": 1, "client_id": "d1", "seqs": [1, 0]})
    assert bad.value.errors == {"seqs[1]": "must be an integer >= 1"}


def test_the_peer_lookup_error_is_the_refusal(world: World) -> None:
    world.peers[A.key] = CgtError("forbidden")
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    world.peers[A.key] = CgtError("forbidden")  # (deferred() joined it only if absent)
    world.server.apply_inbox()
    (out,) = world.server.outcomes(OutcomesRequest("d1", (1,)), A).results
    assert (out.status, out.code) == (Status.REFUSED, "forbidden")


def test_an_expired_receipt_answers_duplicate_to_a_deferred_push_and_to_outcomes(
    world: World,
) -> None:
    deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    world.server.apply_inbox()
    world.clock.advance(days=40)
    prune(world.store, world.clock(), timedelta(days=30))
    (again,) = deferred(world, "d1", (1, "open_case.v1", open_args("c1")))
    assert (again.status, again.code) == (Status.DUPLICATE, "receipt_expired")
    (out,) = world.server.outcomes(OutcomesRequest("d1", (1,)), A).results
    assert (out.status, out.code) == (Status.DUPLICATE, "receipt_expired")
    assert world.server.apply_inbox() == 0 and inbox(world) == set()


def test_the_applier_may_pause_between_batches(world: World) -> None:
    deferred(world, "d1", *((i, "open_case.v1", open_args(f"c{i}")) for i in range(1, 6)))
    answers = iter([False, True])  # one batch, then "pushes are arriving: stop for now"
    assert world.server.apply_inbox(limit=2, pause=lambda: next(answers, True)) == 2
    assert len(inbox(world)) == 3
    assert world.server.apply_inbox(limit=2) == 3 and inbox(world) == set()


def test_a_received_result_is_short_and_still_checked() -> None:
    from sync.protocol import MutationResult, PushResponse

    doc = PushResponse((MutationResult(7, Status.RECEIVED),)).to_json()
    assert doc["results"] == [{"seq": 7, "status": "received"}]
    assert PushResponse.from_json(doc).results == (MutationResult(7, Status.RECEIVED),)
    full = {"seq": 7, "status": "received", "code": None, "result": {}, "changes": []}
    assert PushResponse.from_json({**doc, "results": [full]}).results[0].seq == 7
    for bad, where in (
        ({"seq": "7", "status": "received"}, "results[0].seq"),
        ({"seq": 7, "status": "received", "changes": {}}, "results[0].changes"),
        ({"seq": 7, "status": ["received"]}, "results[0].status"),
    ):
        with pytest.raises(ProtocolError) as refused:
            PushResponse.from_json({**doc, "results": [bad]})
        assert set(refused.value.errors) == {where}, bad
