"""The device's HTTP adapter: the sync and photo transports over ``requests``.

The one module of ``sync`` that does network I/O (the engine's core takes its transport as
an argument and imports no HTTP client). Every failure whose outcome is unknown (no answer,
a timeout, a cut-off or unreadable body, HTTP 5xx) is a :class:`TransportError`, so the
engine retries later (rule E-4); an answer in the app's error shape for the envelope itself
is a :class:`ProtocolError` carrying the server's code (400, 401, 403, 426 …).
"""

from __future__ import annotations

from typing import Any

import requests

from shared_models.errors import CgtError

from .errors import ProtocolError, TransportError
from .protocol import Json, PullPage, PullRequest, PushRequest, PushResponse

TIMEOUT = (5.0, 30.0)  # seconds: connect, read


class _Http:
    def __init__(
        self,
        base: str,
        token: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, self.base + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise TransportError(f"{method} {path}: {error}") from error

    @staticmethod
    def body(resp: requests.Response) -> Json:
        if resp.status_code >= 500:
            raise TransportError(f"HTTP {resp.status_code}")
        try:
            doc = resp.json()
        except ValueError as error:  # a cut-off or foreign body: the outcome is unknown
            raise TransportError(f"unreadable answer (HTTP {resp.status_code})") from error
        if not isinstance(doc, dict):
            raise TransportError(f"unexpected answer (HTTP {resp.status_code})")
        return doc


class HttpTransport(_Http):
    """``sync.client.Transport`` over ``POST /api/sync/push`` and ``POST /api/sync/pull``."""

    def _post(self, path: str, envelope: Json) -> Json:
        resp = self.call("POST", path, json=envelope)
        doc = self.body(resp)
        if resp.status_code != 200:
            code = doc.get("code") if isinstance(doc.get("code"), str) else "bad_request"
            errors = doc.get("errors") if isinstance(doc.get("errors"), dict) else None
            raise ProtocolError(code, errors=errors)
        return doc

    def push(self, request: PushRequest) -> PushResponse:
        return PushResponse.from_json(self._post("/api/sync/push", request.to_json()))

    def pull(self, request: PullRequest) -> PullPage:
        return PullPage.from_json(self._post("/api/sync/pull", request.to_json()))


class HttpPhotoTransport(_Http):
    """``sync.photos.PhotoTransport`` over ``GET``/``PUT /api/photos/<sha256>``.

    The server takes a photo in one body (it verifies the sha256 on arrival), so a queue using
    this transport sends whole photos: give the PhotoQueue ``chunk_bytes=MAX_PHOTO_BYTES``.
    """

    def __init__(self, base: str, token: str, **kwargs: Any) -> None:
        super().__init__(base, token, **kwargs)
        self.mimes: dict[str, str] = {}

    def offset(self, sha256: str, size: int, mime: str) -> int:
        self.mimes[sha256] = mime
        resp = self.call("GET", f"/api/photos/{sha256}")
        if resp.status_code == 404:
            return 0
        self.body(resp)
        return size if resp.status_code == 200 else 0

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        if offset != 0:
            return 0  # no partial uploads here: the queue starts again from 0
        headers = {"Content-Type": self.mimes.get(sha256, "application/octet-stream")}
        resp = self.call("PUT", f"/api/photos/{sha256}", data=chunk, headers=headers)
        doc = self.body(resp)
        if resp.status_code not in (200, 201):
            raise CgtError(str(doc.get("code") or "bad_request"))
        return len(chunk)
