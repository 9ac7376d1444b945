"""The sync engine's test kit: a fixed clock and ids, a loopback pair, injected faults.

Shipped with the engine so the server, the app and anyone writing another client test
against the same pieces::

    server = SyncServer(MemoryServerStore(), registry, clock)
    transport = FaultyTransport(LoopbackTransport(server, peer), random.Random(7))
    device = SyncClient(MemoryClientStore(), transport, registry, clock, SequentialIds("dev"))

Every envelope crossing the loopback goes through its JSON form and back, so the wire
format is exercised as well.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared_models.errors import CgtError

from .errors import TransportError, Unreachable
from .photos import MAX_PHOTO_BYTES, accept_chunk
from .protocol import OutcomesRequest, PullPage, PullRequest, PushRequest, PushResponse
from .server import SyncServer
from .server_store import Peer
from .stores.memory import AppKilled, MemoryClientStore, MemoryServerStore, ServerCrashed

__all__ = [
    "AppKilled",
    "Fault",
    "FaultyTransport",
    "FixedClock",
    "LoopbackTransport",
    "MemoryClientStore",
    "MemoryPhotoServer",
    "MemoryServerStore",
    "SequentialIds",
    "ServerCrashed",
]


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class SequentialIds:
    """Ids ``prefix-1``, ``prefix-2``, … instead of random UUIDs."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}-{self.n}"


def _wire(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc, ensure_ascii=False))


class LoopbackTransport:
    """A device's transport straight into a server engine, as ``peer``, through JSON."""

    def __init__(self, server: SyncServer, peer: Peer) -> None:
        self.server = server
        self.peer = peer
        self.pushes: list[PushRequest] = []
        self.pages: list[PullPage] = []

    def push(self, request: PushRequest) -> PushResponse:
        received = PushRequest.from_json(_wire(request.to_json()))
        self.pushes.append(received)
        try:
            response = self.server.push(received, self.peer)
        except ServerCrashed as crash:
            raise TransportError("connection reset: server restarted") from crash
        return PushResponse.from_json(_wire(response.to_json()))

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        received = OutcomesRequest.from_json(_wire(request.to_json()))
        try:
            response = self.server.outcomes(received, self.peer)
        except ServerCrashed as crash:
            raise TransportError("connection reset: server restarted") from crash
        return PushResponse.from_json(_wire(response.to_json()))

    def pull(self, request: PullRequest) -> PullPage:
        received = PullRequest.from_json(_wire(request.to_json()))
        try:
            page = self.server.pull(received, self.peer)
        except ServerCrashed as crash:
            raise TransportError("connection reset: server restarted") from crash
        page = PullPage.from_json(_wire(page.to_json()))
        self.pages.append(page)
        return page


class Fault(StrEnum):
    LOSE_REQUEST = "lose_request"  # never reached the server
    LOSE_RESPONSE = "lose_response"  # applied, answer lost
    DUPLICATE = "duplicate"  # delivered twice
    DELAY = "delay"  # held back, delivered late after a later request (reordering)
    CUT_BODY = "cut_body"  # connection cut mid-body: a prefix of the mutations arrives
    SERVER_RESTART = "server_restart"  # the server dies with a transaction in flight
    KILL_APP = "kill_app"  # the answer arrives; the app dies while applying it


class FaultyTransport:
    """Wraps a loopback and injects faults, at random (seeded ``rng``) or from a script."""

    def __init__(
        self,
        inner: LoopbackTransport,
        rng: random.Random,
        *,
        rate: float = 0.3,
        faults: Sequence[Fault] = tuple(Fault),
        script: Sequence[Fault | None] | None = None,
        kill_app: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = rate
        self.faults = [f for f in faults if f is not Fault.KILL_APP or kill_app is not None]
        self.script = list(script) if script is not None else None
        self.kill_app = kill_app
        self.held: list[PushRequest] = []
        self.log: list[Fault] = []

    def _next_fault(self) -> Fault | None:
        if self.script is not None:
            return self.script.pop(0) if self.script else None
        if self.faults and self.rng.random() < self.rate:
            return self.rng.choice(self.faults)
        return None

    def _store(self) -> MemoryServerStore | None:
        store = self.inner.server.store
        return store if isinstance(store, MemoryServerStore) else None

    def deliver_held(self) -> None:
        """Late arrivals of held-back requests; their answers go nowhere."""
        held, self.held = self.held, []
        for request in held:
            try:
                self.inner.push(request)
            except TransportError:
                pass

    def push(self, request: PushRequest) -> PushResponse:
        self.deliver_held()
        fault = self._next_fault()
        if fault is not None:
            self.log.append(fault)
        if fault is Fault.LOSE_REQUEST:
            raise TransportError("request lost")
        if fault is Fault.DELAY:
            self.held.append(request)
            raise TransportError("request timed out (still on its way)")
        if fault is Fault.CUT_BODY:
            keep = self.rng.randrange(len(request.mutations) + 1)
            cut = replace(request, mutations=request.mutations[:keep])
            self.inner.push(cut)
            raise TransportError("connection cut mid-body")
        if fault is Fault.SERVER_RESTART:
            store = self._store()
            if store is not None:
                store.crash_after(self.rng.randrange(2 * len(request.mutations) + 1))
            try:
                self.inner.push(request)
            finally:
                if store is not None:
                    store.crash_after_cancel()
            raise TransportError("server restarted")
        response = self.inner.push(request)
        if fault is Fault.DUPLICATE:
            response = self.inner.push(request)
        if fault is Fault.LOSE_RESPONSE:
            raise TransportError("response lost")
        if fault is Fault.KILL_APP and self.kill_app is not None:
            self.kill_app()
        return response

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        fault = self._next_fault()
        if fault is not None:
            self.log.append(fault)
        if fault in (Fault.LOSE_REQUEST, Fault.DELAY, Fault.SERVER_RESTART, Fault.CUT_BODY):
            raise TransportError(f"outcomes failed: {fault}")
        response = self.inner.outcomes(request)
        if fault is Fault.DUPLICATE:
            response = self.inner.outcomes(request)
        if fault is Fault.LOSE_RESPONSE:
            raise TransportError("outcomes lost")
        if fault is Fault.KILL_APP and self.kill_app is not None:
            self.kill_app()  # the app dies while settling them
        return response

    def pull(self, request: PullRequest) -> PullPage:
        fault = self._next_fault()
        if fault is not None:
            self.log.append(fault)
        if fault in (Fault.LOSE_REQUEST, Fault.DELAY, Fault.SERVER_RESTART):
            raise TransportError(f"pull failed: {fault}")
        page = self.inner.pull(request)
        if fault is Fault.DUPLICATE:
            page = self.inner.pull(request)
        if fault in (Fault.LOSE_RESPONSE, Fault.CUT_BODY):
            raise TransportError("page lost")
        if fault is Fault.KILL_APP and self.kill_app is not None:
            self.kill_app()
        return page


class MemoryPhotoServer:
    """The server's photo path in memory: a PhotoTransport for the device's PhotoQueue."""

    def __init__(self, max_bytes: int = MAX_PHOTO_BYTES) -> None:
        self.max_bytes = max_bytes
        self.partial: dict[str, bytes] = {}
        self.declared: dict[str, int] = {}
        self.complete: dict[str, bytes] = {}
        self.unreachable = False
        self.broken: set[str] = set()  # photos whose chunks always get lost

    def offset(self, sha256: str, size: int, mime: str) -> int:
        if self.unreachable:
            raise Unreachable("no network")
        if sha256 in self.complete:
            return size
        if size > self.max_bytes:
            raise CgtError("payload_too_large")
        self.declared[sha256] = size
        return len(self.partial.get(sha256, b""))

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        if self.unreachable or sha256 in self.broken:
            raise TransportError("chunk lost")
        if sha256 in self.complete:
            return len(self.complete[sha256])
        have = self.partial.get(sha256, b"")
        try:
            outcome = accept_chunk(
                have,
                offset,
                chunk,
                sha256=sha256,
                size=self.declared[sha256],
                max_bytes=self.max_bytes,
            )
        except CgtError:
            self.partial.pop(sha256, None)
            raise
        if outcome.complete:
            self.complete[sha256] = outcome.data
            self.partial.pop(sha256, None)
        else:
            self.partial[sha256] = outcome.data
        return len(outcome.data)
