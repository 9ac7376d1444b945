"""Fixtures of the sync tests: a loopback world of one server and devices, all in memory."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

from shared_models.errors import CgtError
from sync.client import SyncClient
from sync.client_store import ClientStore
from sync.server import SyncServer
from sync.server_store import Peer
from sync.testkit import (
    FixedClock,
    LoopbackTransport,
    MemoryClientStore,
    MemoryServerStore,
    SequentialIds,
)

from . import domain

# Profiles for the sync property tests only (applied per test, so other packages' hypothesis
# settings are untouched): "sync-ci" is derandomized for CI; CGT_SYNC_HYPOTHESIS=sync-long
# explores far more.
_QUIET = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("sync-ci", max_examples=60, derandomize=True, **_QUIET)  # type: ignore[arg-type]
settings.register_profile("sync-long", max_examples=1000, **_QUIET)  # type: ignore[arg-type]
SYNC_SETTINGS = settings.get_profile(os.environ.get("CGT_SYNC_HYPOTHESIS", "sync-ci"))

START = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


class World:
    """One server and any number of devices on loopback transports."""

    def __init__(self) -> None:
        self.clock = FixedClock(START)
        self.registry = domain.registry()
        self.store = MemoryServerStore()
        # who may still sync, for the inbox's applier (a key missing: the account is gone)
        self.peers: dict[str, Peer | CgtError] = {}
        self.server = SyncServer(self.store, self.registry, self.clock, self.peer_of)

    def peer_of(self, key: str) -> Peer | CgtError:
        return self.peers.get(key) or CgtError("account_disabled")

    def join(self, peer: Peer) -> Peer:
        self.peers.setdefault(peer.key, peer)
        return peer

    def device(
        self, name: str, peer: Peer, store: ClientStore | None = None, **options: object
    ) -> tuple[SyncClient, LoopbackTransport]:
        transport = LoopbackTransport(self.server, self.join(peer))
        client = SyncClient(
            store or MemoryClientStore(),
            transport,
            self.registry,
            self.clock,
            SequentialIds(name),
            **options,  # type: ignore[arg-type]
        )
        return client, transport


@pytest.fixture
def world() -> World:
    return World()


DeviceFactory = Callable[..., tuple[SyncClient, LoopbackTransport]]
