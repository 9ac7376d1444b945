"""Property: whatever devices do offline and whatever the network does, nothing is lost or doubled.

Several devices (two inspectors of grid A, one of grid B, a dispatcher) do random offline
actions on a toy case domain, sync at random through a transport that loses requests and
responses, duplicates, delays (reorders), cuts bodies mid-way, restarts the server and kills
the app mid-apply; the server prunes its log now and then. After a final clean sync:

* every action a device recorded is applied on the server exactly once, or is visible in
  that device's "needs attention" list with its reason (refused, never lost);
* every device holds exactly the server's records in its scope (converged);
* no incremental pull ever brought a device's own change back to it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_models.errors import CgtError
from sync.client import SyncClient
from sync.client_store import ClientStore
from sync.protocol import PullPage, PullRequest
from sync.server import _Position, prune
from sync.server_store import Peer
from sync.stores.sqlite_client import SqliteClientStore
from sync.testkit import (
    AppKilled,
    FaultyTransport,
    LoopbackTransport,
    MemoryClientStore,
    SequentialIds,
    ServerCrashed,
)

from . import domain
from .conftest import SYNC_SETTINGS, World

KINDS = ["open", "note", "close", "move", "sync", "sync", "kill", "fix", "discard", "prune"]
ACTIONS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 3), st.integers(0, 1000)), max_size=45
)
# With deferred pushes (rule D-1) the server's applier is one more actor: it runs now (and
# may die with the server mid-way, rows left in the inbox), or the server loses its inbox
# (restored from a backup taken before those pushes): the devices must send them again.
DEFERRED_KINDS = [*KINDS, "apply", "apply", "lose"]
DEFERRED_ACTIONS = st.lists(
    st.tuples(st.sampled_from(DEFERRED_KINDS), st.integers(0, 3), st.integers(0, 1000)),
    max_size=45,
)
GRIDS = ["A", "B"]


class SpyLoopback(LoopbackTransport):
    """Checks that no incremental page carries the device's own change."""

    def pull(self, request: PullRequest) -> PullPage:
        page = super().pull(request)
        pos = _Position.decode(request.cursor) if request.cursor else None
        store = self.server.store
        if pos is not None and pos.kind == "c" and not page.reset:
            for c in page.changes:
                assert store.origin_of(c.collection, c.id, c.version) != request.client_id  # type: ignore[attr-defined]
        return page


@dataclass
class Device:
    name: str
    peer: Peer
    grid: str | None
    store: ClientStore
    faulty: FaultyTransport
    world: World
    ids: SequentialIds
    defer: bool = False
    client: SyncClient = field(init=False)
    intended: set[int] = field(default_factory=set)
    resolved: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        if isinstance(self.store, MemoryClientStore):
            self.store.disarm()
        self.client = SyncClient(
            self.store,
            self.faulty,
            self.world.registry,
            self.world.clock,
            self.ids,
            batch_size=3,
            page_limit=4,
            defer=self.defer,
        )


def make_devices(
    world: World, seed: int, store_kind: str, tmp: Path, defer: bool = False
) -> list[Device]:
    peers = [
        ("a1", domain.inspector("insp-a1", "A"), "A"),
        ("a2", domain.inspector("insp-a2", "A"), "A"),
        ("b1", domain.inspector("insp-b1", "B"), "B"),
        ("d", domain.dispatcher("disp"), None),
    ]
    devices = []
    for i, (name, peer, grid) in enumerate(peers):
        store: ClientStore
        if store_kind == "memory":
            store = MemoryClientStore()
            kill = store.kill_at
        else:
            store = SqliteClientStore(tmp / f"{name}-{seed}.sqlite3")
            kill = None
        loop = SpyLoopback(world.server, world.join(peer))
        faulty = FaultyTransport(loop, random.Random(seed * 10 + i), rate=0.5, kill_app=kill)
        devices.append(
            Device(name, peer, grid, store, faulty, world, SequentialIds(name), defer=defer)
        )
    return devices


def act(world: World, dev: Device, kind: str, p: int, counter: list[int]) -> None:
    client = dev.client
    counter[0] += 1
    cases = sorted(client.all("cases"))
    pick = cases[p % len(cases)] if cases else None
    if kind == "open":
        grid = dev.grid or GRIDS[p % 2]
        title = "" if p % 7 == 0 else f"问题{p}"
        args = {"id": f"{dev.name}-c{counter[0]}", "title": title, "grid": grid}
        dev.intended.add(client.record("open_case.v1", args).seq)
    elif kind == "note" and pick:
        note = {"id": pick, "note_id": f"n{counter[0]}"}
        dev.intended.add(client.record("note_case.v1", note).seq)
    elif kind == "close" and pick:
        base = client.version_of("cases", pick)
        dev.intended.add(client.record("close_case.v1", {"id": pick}, base).seq)
    elif kind == "move" and pick:
        dev.intended.add(client.record("move_case.v1", {"id": pick, "grid": GRIDS[p % 2]}).seq)
    elif kind == "sync":
        dev.faulty.rate = 0.5 if p % 3 else 0.0
        client.sync()
    elif kind == "kill":
        if isinstance(dev.store, MemoryClientStore):
            dev.store.kill_at(p % 3)
        else:
            dev.restart()
    elif kind in ("fix", "discard"):
        attention = client.needs_attention()
        if attention:
            item = attention[p % len(attention)]
            if kind == "discard":
                client.discard(item.seq)
            else:
                args = dict(item.args)
                if item.name == "open_case.v1":
                    args["title"] = "补充标题"
                new = client.resend(item.seq, args, client.version_of("cases", args["id"]))
                dev.intended.add(new.seq)
            dev.resolved.add(item.seq)
    elif kind == "prune":
        world.clock.advance(days=40)
        prune(world.store, world.clock(), timedelta(days=30))
    elif kind == "apply":
        if p % 3 == 0:  # the server restarts while applying: rows stay in the inbox
            world.store.crash_after(p % 7)
        try:
            world.server.apply_inbox(limit=1 + p % 4)
        except ServerCrashed:
            pass
        finally:
            world.store.crash_after_cancel()
    elif kind == "lose":
        world.store.lose_inbox()
    world.clock.advance(minutes=1)


def run(
    actions: list[tuple[str, int, int]],
    seed: int,
    store_kind: str,
    tmp: Path,
    defer: bool = False,
) -> None:
    world = World()
    devices = make_devices(world, seed, store_kind, tmp, defer)
    counter = [0]
    for kind, d, p in actions:
        dev = devices[d]
        try:
            act(world, dev, kind, p, counter)
        except AppKilled:
            dev.restart()  # the user opens the app again
        except CgtError:
            pass  # refused on the phone already (e.g. a resend that is still impossible)
    for dev in devices:
        dev.faulty.rate = 0.0
        dev.faulty.deliver_held()
        dev.restart()
    for _ in range(2 if not defer else 4):  # deferred: push, apply, collect (and resend)
        for dev in devices:
            assert dev.client.sync().ok
        world.server.apply_inbox()  # the final drain
    assert not world.store.inbox()
    check(world, devices)
    for dev in devices:
        if isinstance(dev.store, SqliteClientStore):
            dev.store.close()


def check(world: World, devices: list[Device]) -> None:
    records = world.store.records()
    tags = Counter(t for r in records.values() if not r.deleted for t in r.data["applied"])
    assert all(n == 1 for n in tags.values()), "a mutation took effect twice"
    known_clients = {dev.client.client_id for dev in devices}
    assert {t.split("#")[0] for t in tags} <= known_clients
    for dev in devices:
        client = dev.client
        assert client.waiting() == [] and client.sent() == []
        attention = {e.seq: e for e in client.needs_attention()}
        assert not attention.keys() & dev.resolved
        for seq in dev.intended - dev.resolved:
            applied = f"{client.client_id}#{seq}" in tags
            refused = seq in attention
            assert applied != refused, f"{dev.name} #{seq}: applied={applied} refused={refused}"
            if refused:
                assert attention[seq].code and attention[seq].message_zh
        for seq in dev.resolved:
            assert f"{client.client_id}#{seq}" not in tags
        # converged: exactly the server's records in this device's scope
        with dev.store.transaction() as tx:
            local = {r.id: (r.version, r.data) for r in tx.records("cases") if r.data is not None}
            overlay_seqs = {o.seq for o in tx.overlays("cases")}
        expected = {
            key[1]: (r.version, r.data)
            for key, r in records.items()
            if not r.deleted and r.audience & dev.peer.audiences
        }
        assert local == expected, dev.name
        assert overlay_seqs <= set(attention)


@SYNC_SETTINGS
@given(actions=ACTIONS, seed=st.integers(0, 2**16))
def test_devices_converge_and_every_action_counts_exactly_once(
    actions: list[tuple[str, int, int]], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run(actions, seed, "memory", Path("."))


@settings(SYNC_SETTINGS, max_examples=12)
@given(actions=ACTIONS, seed=st.integers(0, 2**16))
def test_the_same_holds_on_the_phones_sqlite_store(
    actions: list[tuple[str, int, int]], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run(actions, seed, "sqlite", tmp_path_factory.mktemp("devices"))


@pytest.mark.parametrize("seed", [42, 7, 2026, 11_16, 9_999])
def test_long_fixed_scenarios_with_every_fault(seed: int) -> None:
    """Hypothesis explores short stories; these are long ones (hundreds of actions)."""
    rng = random.Random(seed)
    actions = [(rng.choice(KINDS), rng.randrange(4), rng.randrange(1000)) for _ in range(400)]
    run(actions, seed, "memory", Path("."))


@SYNC_SETTINGS
@given(actions=DEFERRED_ACTIONS, seed=st.integers(0, 2**16))
def test_the_same_holds_with_deferred_pushes(
    actions: list[tuple[str, int, int]], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run(actions, seed, "memory", Path("."), defer=True)


@settings(SYNC_SETTINGS, max_examples=12)
@given(actions=DEFERRED_ACTIONS, seed=st.integers(0, 2**16))
def test_deferred_pushes_on_the_phones_sqlite_store(
    actions: list[tuple[str, int, int]], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run(actions, seed, "sqlite", tmp_path_factory.mktemp("devices"), defer=True)


@pytest.mark.parametrize("seed", [42, 7, 2026, 11_16, 9_999])
def test_long_fixed_scenarios_with_deferred_pushes(seed: int) -> None:
    rng = random.Random(seed)
    actions = [
        (rng.choice(DEFERRED_KINDS), rng.randrange(4), rng.randrange(1000)) for _ in range(400)
    ]
    run(actions, seed, "memory", Path("."), defer=True)
