"""Helpers of the server sync tests: a Transport over the Flask test client, devices."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from sync.case_mutations import registry
from sync.client import SyncClient
from sync.errors import ProtocolError, TransportError
from sync.protocol import (
    Mutation,
    OutcomesRequest,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
)
from sync.testkit import MemoryClientStore
from tests.api.case_helpers import report_body

_devices = itertools.count(1)


class FlaskTransport:
    """The device's transport straight into the app through its HTTP edge (test client)."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        resp = self.client.post(path, json=body, headers=self.headers)
        if resp.status_code >= 500:
            raise TransportError(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise ProtocolError(resp.json["code"], errors=resp.json.get("errors"))
        return resp.json

    def push(self, request: PushRequest) -> PushResponse:
        return PushResponse.from_json(self._post("/api/sync/push", request.to_json()))

    def pull(self, request: PullRequest) -> PullPage:
        return PullPage.from_json(self._post("/api/sync/pull", request.to_json()))

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        return PushResponse.from_json(self._post("/api/sync/outcomes", request.to_json()))


def device(
    app: Flask, client: FlaskClient, headers: dict[str, str], defer: bool = False
) -> SyncClient:
    n = next(_devices)
    ids = (f"dev{n}-{i}" for i in itertools.count(1))
    return SyncClient(
        MemoryClientStore(),
        FlaskTransport(client, headers),
        registry(),
        app.config["CLOCK"],
        lambda: next(ids),
        defer=defer,
    )


def report_args(**overrides: Any) -> dict[str, Any]:
    body = report_body(**overrides)
    body["id"] = str(body.get("id") or uuid.uuid4())
    return body


def push(client: FlaskClient, headers: dict[str, str], client_id: str, *muts: Any) -> Any:
    """Push raw mutations given as (seq, name, args) triples; returns the response."""
    request = PushRequest(client_id, tuple(Mutation(client_id, s, n, a) for s, n, a in muts))
    return client.post("/api/sync/push", json=request.to_json(), headers=headers)


def pull_all(
    client: FlaskClient, headers: dict[str, str], client_id: str, cursor: str = ""
) -> tuple[list[dict[str, Any]], str, bool]:
    """Pull until no more; returns (changes, cursor, whether a reset page came)."""
    changes: list[dict[str, Any]] = []
    reset = False
    while True:
        body = PullRequest(client_id, cursor, 100).to_json()
        resp = client.post("/api/sync/pull", json=body, headers=headers)
        assert resp.status_code == 200, resp.json
        page = resp.json
        changes += page["changes"]
        reset = reset or page["reset"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor, reset
