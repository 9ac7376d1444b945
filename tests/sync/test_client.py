"""The device engine as a user notices it: offline work, waiting counts, needs attention."""

from __future__ import annotations

import threading
import time

import pytest

from sync import client as client_module
from sync.client import PREFETCH_DEPTH, Counts
from sync.errors import ProtocolError
from sync.protocol import PullPage, PullRequest, PushRequest, PushResponse
from sync.testkit import AppKilled, Fault, FaultyTransport, MemoryClientStore

from . import domain
from .conftest import World

A = domain.inspector("insp-a", "A")
D = domain.dispatcher("disp")


def open_case(client, id: str, grid: str = "A", title: str = "垃圾满溢"):  # type: ignore[no-untyped-def]
    return client.record("open_case.v1", {"id": id, "title": title, "grid": grid})


def test_offline_work_shows_at_once_and_is_sent_later(world: World) -> None:
    phone, _ = world.device("p", A)
    open_case(phone, "c1")
    phone.record("note_case.v1", {"id": "c1", "note_id": "n1"})
    assert phone.get("cases", "c1")["notes"] == ["n1"]  # type: ignore[index]
    assert phone.counts().waiting == 2
    report = phone.sync()
    assert report.ok and report.pushed == 2
    counts = phone.counts()
    assert (counts.waiting, counts.sent, counts.needs_attention) == (0, 2, 0)
    assert counts.last_success_at == world.clock()
    assert phone.version_of("cases", "c1") == 2
    assert phone.all("cases")["c1"]["applied"] == [f"{phone.client_id}#1", f"{phone.client_id}#2"]


def test_a_refused_mutation_needs_attention_and_the_rest_go_on(world: World) -> None:
    dispatcher, _ = world.device("d", D)
    phone, _ = world.device("p", A)
    open_case(dispatcher, "c1")
    dispatcher.sync()
    phone.sync()
    base = phone.version_of("cases", "c1")
    dispatcher.record("note_case.v1", {"id": "c1", "note_id": "n0"})
    dispatcher.sync()  # the case moves on while the phone is offline
    phone.record("close_case.v1", {"id": "c1"}, base_version=base)
    open_case(phone, "c2")
    report = phone.sync()
    assert report.ok and (report.pushed, report.refused) == (1, 1)
    (item,) = phone.needs_attention()
    assert item.code == "version_conflict" and "已被他人修改" in (item.message_zh or "")
    assert phone.get("cases", "c2") is not None
    assert phone.get("cases", "c1")["state"] == "closed"  # type: ignore[index]  # still the user's intent
    fixed = phone.resend(item.seq, base_version=phone.version_of("cases", "c1"))
    assert fixed.seq > item.seq and phone.needs_attention() == []
    phone.sync()
    assert world.store.records()[("cases", "c1")].data["state"] == "closed"


def test_discarding_a_refused_mutation_restores_the_servers_view(world: World) -> None:
    phone, _ = world.device("p", A)
    open_case(phone, "c1", title=" ")
    phone.sync()
    (item,) = phone.needs_attention()
    assert phone.get("cases", "c1") is not None
    phone.discard(item.seq)
    assert phone.get("cases", "c1") is None and phone.counts().needs_attention == 0


def test_own_records_are_not_pulled_back_as_new(world: World) -> None:
    phone, transport = world.device("p", A)
    phone.sync()
    open_case(phone, "c1")
    phone.sync()
    pulled = [c for page in transport.pages[1:] for c in page.changes]
    assert pulled == [] and phone.version_of("cases", "c1") == 1


def test_lost_responses_and_duplicates_change_nothing(world: World) -> None:
    store = MemoryClientStore()
    phone, loop = world.device("p", A, store=store)
    script = [Fault.LOSE_RESPONSE, Fault.DUPLICATE, Fault.CUT_BODY, Fault.LOSE_REQUEST]
    import random

    phone.transport = FaultyTransport(loop, random.Random(1), script=script)
    for i in range(4):
        open_case(phone, f"c{i}")
    results = [phone.sync().ok for _ in range(5)]
    assert results[-1] and phone.counts().waiting == 0
    applied = [tag for r in world.store.records().values() for tag in r.data["applied"]]
    assert sorted(applied) == sorted(f"{phone.client_id}#{i}" for i in range(1, 5))


def test_the_app_killed_mid_apply_resumes_without_loss(world: World) -> None:
    import random

    store = MemoryClientStore()
    phone, loop = world.device("p", A, store=store)
    phone.transport = FaultyTransport(
        loop, random.Random(1), script=[Fault.KILL_APP], kill_app=store.kill_at
    )
    open_case(phone, "c1")
    try:
        phone.sync()
        raise AssertionError("the app should have died")
    except AppKilled:
        pass
    assert phone.counts().waiting == 1  # the answer was never applied: still waiting
    restarted, _ = world.device("p", A, store=store)
    assert restarted.client_id == phone.client_id
    assert restarted.sync().ok and restarted.counts().waiting == 0
    assert world.store.records()[("cases", "c1")].data["applied"] == [f"{phone.client_id}#1"]


class TooNew:
    def push(self, request: PushRequest) -> PushResponse:
        raise ProtocolError("unsupported_protocol", version=1, supported=2)

    def pull(self, request: PullRequest) -> PullPage:
        raise ProtocolError("unsupported_protocol", version=1, supported=2)


def test_a_server_that_no_longer_speaks_our_protocol_asks_for_an_update(world: World) -> None:
    seen: list[Counts] = []
    phone, _ = world.device("p", A, on_progress=seen.append)
    phone.transport = TooNew()
    open_case(phone, "c1")
    report = phone.sync()
    assert not report.ok and report.error == "unsupported_protocol"
    assert phone.counts().update_required and phone.counts().waiting == 1
    assert seen and seen[-1].update_required


def test_progress_reports_what_is_being_sent(world: World) -> None:
    seen: list[Counts] = []
    phone, _ = world.device("p", A, on_progress=seen.append, batch_size=2)
    for i in range(3):
        open_case(phone, f"c{i}")
    phone.sync()
    assert [c.sending for c in seen if c.sending] == [2, 1]
    assert seen[-1].sent == 3 and seen[-1].waiting == 0


def test_a_receipt_too_old_to_echo_triggers_a_full_resync(world: World) -> None:
    from datetime import timedelta

    from sync.server import prune

    phone, loop = world.device("p", A)
    open_case(phone, "c1")
    import random

    phone.transport = FaultyTransport(loop, random.Random(1), script=[Fault.LOSE_RESPONSE])
    assert not phone.sync().ok
    world.clock.advance(days=40)
    prune(world.store, world.clock(), timedelta(days=30))
    assert phone.sync().ok
    assert phone.version_of("cases", "c1") == 1
    assert loop.pages[0].reset


# ---------------------------------------------------------------- pulls with prefetch


def _cases_for_pages(world: World, n: int) -> None:
    dispatcher, _ = world.device("d", D)
    for i in range(n):
        open_case(dispatcher, f"c{i:02d}")
    assert dispatcher.sync().ok


def _cursor(store: MemoryClientStore) -> str | None:
    with store.transaction() as tx:
        return tx.get_meta("cursor")


def test_a_prefetching_pull_applies_every_page_in_order_with_its_cursor(world: World) -> None:
    _cases_for_pages(world, 23)
    plain, plain_loop = world.device("p1", A, page_limit=4)
    ahead, ahead_loop = world.device("p2", A, page_limit=4, prefetch=True)
    assert plain.sync().ok and ahead.sync().ok
    assert ahead.all("cases") == plain.all("cases") and len(ahead.all("cases")) == 23
    assert [p.changes for p in ahead_loop.pages] == [p.changes for p in plain_loop.pages]
    assert _cursor(ahead.store) == ahead_loop.pages[-1].cursor  # type: ignore[arg-type]
    assert len(ahead_loop.pages) > 5 and not ahead_loop.pages[-1].has_more
    assert ahead.sync().ok and ahead.sync().pulled == 0  # nothing new, nothing fetched ahead


def test_prefetch_runs_ahead_of_the_page_being_applied_but_no_further_than_its_depth(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cases_for_pages(world, 40)
    phone, loop = world.device("p", A, page_limit=4, prefetch=True)
    real, seen = client_module.apply_page, []

    def slow_first_page(tx, page):  # type: ignore[no-untyped-def]
        if not seen:
            deadline = time.monotonic() + 10
            while len(loop.pages) < 2 + PREFETCH_DEPTH and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.1)  # time to fetch more, were it not bounded
            # page 1 in hand, PREFETCH_DEPTH pages waiting, the next one fetched and held
            seen.append(len(loop.pages))
        real(tx, page)

    monkeypatch.setattr(client_module, "apply_page", slow_first_page)
    assert phone.sync().ok and len(phone.all("cases")) == 40
    assert seen == [2 + PREFETCH_DEPTH]


def test_a_prefetching_sync_that_finds_one_page_fetches_it_without_a_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cases_for_pages(world, 3)
    phone, loop = world.device("p", A, page_limit=4, prefetch=True)
    assert phone.sync().ok  # the first pull: the records, then the log from their snapshot
    real, fetched_in = loop.pull, []

    def pull(request: PullRequest) -> PullPage:
        fetched_in.append(threading.current_thread())
        return real(request)

    monkeypatch.setattr(loop, "pull", pull)
    assert phone.sync().ok and fetched_in == [threading.main_thread()]  # nothing new


def test_a_prefetched_page_is_dropped_when_the_page_before_fails_to_apply(world: World) -> None:
    _cases_for_pages(world, 12)
    store = MemoryClientStore()
    phone, loop = world.device("p", A, store=store, page_limit=4, prefetch=True)
    store.kill_at(3)  # reading the outbox, the cursor, page 1: page 2 dies with the app
    try:
        phone.sync()
        raise AssertionError("the app should have died")
    except AppKilled:
        pass
    assert _cursor(store) == loop.pages[0].cursor  # page 1 only; the pages after never applied
    # pages fetched ahead of page 2 (at most PREFETCH_DEPTH of them) are simply dropped
    assert 2 <= len(loop.pages) <= 2 + PREFETCH_DEPTH
    assert len(phone.all("cases")) == 4
    store.disarm()
    again, _ = world.device("p", A, store=store, page_limit=4, prefetch=True)
    assert again.sync().ok and len(again.all("cases")) == 12


def test_a_prefetched_page_lost_on_the_way_ends_the_attempt_after_the_pages_before(
    world: World,
) -> None:
    import random

    _cases_for_pages(world, 12)
    store = MemoryClientStore()
    phone, loop = world.device("p", A, store=store, page_limit=4, prefetch=True)
    phone.transport = FaultyTransport(loop, random.Random(1), script=[None, Fault.LOSE_RESPONSE])
    report = phone.sync()
    assert not report.ok and report.error == "transport"
    assert _cursor(store) == loop.pages[0].cursor and len(phone.all("cases")) == 4
    assert phone.sync().ok and len(phone.all("cases")) == 12
