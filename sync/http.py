"""The device's HTTP adapter: the sync and photo transports over ``requests``.

The one module of ``sync`` that does network I/O (the engine's core takes its transport as
an argument and imports no HTTP client). Every failure whose outcome is unknown (no answer,
a timeout, a cut-off or unreadable body, HTTP 5xx) is a :class:`TransportError` (and
:class:`Unreachable` when no connection could be made at all), so the engine retries later
(rule E-4); an answer in the app's error shape for the envelope itself is a
:class:`ProtocolError` carrying the server's code (400, 401, 403, 426 …).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import requests

from shared_models.errors import CgtError

from . import jsoncodec
from .errors import ProtocolError, TransportError, Unreachable
from .protocol import (
    PROTOCOL_VERSION,
    Json,
    OutcomesRequest,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
)

TIMEOUT = (5.0, 30.0)  # seconds: connect, read
_JSON = {"Content-Type": "application/json"}


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
        except requests.ConnectionError as error:  # refused, reset, no route, connect timeout
            raise Unreachable(f"{method} {path}: {error}") from error
        except requests.RequestException as error:
            raise TransportError(f"{method} {path}: {error}") from error

    @staticmethod
    def body(resp: requests.Response) -> Json:
        if resp.status_code >= 500:
            raise TransportError(f"HTTP {resp.status_code}")
        try:
            doc = jsoncodec.loads(resp.content)  # bytes: UTF-8 (or -16/-32) detected
        except ValueError as error:  # a cut-off or foreign body: the outcome is unknown
            raise TransportError(f"unreadable answer (HTTP {resp.status_code})") from error
        if not isinstance(doc, dict):
            raise TransportError(f"unexpected answer (HTTP {resp.status_code})")
        return doc


class HttpTransport(_Http):
    """``sync.client.Transport`` over ``POST /api/sync/push``, ``/pull`` and ``/outcomes``."""

    def _post(self, path: str, envelope: Json) -> Json:
        body = jsoncodec.dumps(envelope).encode()  # orjson where installed: a push of 1,000
        resp = self.call("POST", path, data=body, headers=_JSON)  # reports is ~300 KB
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

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        return PushResponse.from_json(self._post("/api/sync/outcomes", request.to_json()))


_APP_REFUSED = frozenset({401, 403, 426})  # not the photo's fault: the app must act


class HttpPhotoTransport(_Http):
    """``sync.photos.PhotoTransport`` over the resumable upload of docs/photos.md.

    ``offset`` starts or resumes the upload (``POST /api/photos/<sha256>/upload``) and
    learns the server's chunk limit; ``put_chunk`` sends ``PATCH`` with ``Content-Range`` and
    ``Content-Digest``, splitting what the queue gives it to that limit. The server's
    ``409 offset_mismatch`` gives back its offset (the queue resumes from there), an upload
    the server no longer has is started again, a damaged chunk is a TransportError (sent
    again later); a refused photo is a CgtError with the server's code and messages.
    """

    def __init__(self, base: str, token: str, **kwargs: Any) -> None:
        super().__init__(base, token, **kwargs)
        self.http.headers["Sync-Protocol"] = str(PROTOCOL_VERSION)
        self.uploads: dict[str, tuple[int, str]] = {}  # sha256 -> (size, mime)
        self.chunk_max: dict[str, int] = {}

    def offset(self, sha256: str, size: int, mime: str) -> int:
        self.uploads[sha256] = (size, mime)
        resp = self.call("POST", self._path(sha256), json={"size": size, "mime": mime})
        doc = self._answer(resp)
        if isinstance(doc.get("chunk_max"), int) and doc["chunk_max"] > 0:
            self.chunk_max[sha256] = doc["chunk_max"]
        return self._offset_in(doc, resp)

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        if sha256 not in self.uploads:
            raise TransportError("put_chunk before offset")  # the queue always asks first
        limit = self.chunk_max.get(sha256) or len(chunk)
        at = offset
        for start in range(0, len(chunk), limit):
            piece = chunk[start : start + limit]
            moved = self._patch(sha256, at, piece)
            if moved != at + len(piece):
                return moved  # the server holds another offset: resume from there
            at = moved
        return at

    def _patch(self, sha256: str, offset: int, piece: bytes) -> int:
        size, mime = self.uploads[sha256]
        digest = base64.b64encode(hashlib.sha256(piece).digest()).decode()
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"bytes {offset}-{offset + len(piece) - 1}/{size}",
            "Content-Digest": f"sha-256=:{digest}:",
        }
        resp = self.call("PATCH", self._path(sha256), data=piece, headers=headers)
        doc = self.body(resp)
        code = doc.get("code")
        if resp.status_code == 409 and code == "offset_mismatch":
            return self._offset_in(doc, resp)
        if resp.status_code == 404 and code == "upload_not_found":
            return self.offset(sha256, size, mime)  # expired or dropped: from the start
        if resp.status_code == 422 and code == "chunk_corrupt":
            raise TransportError("the chunk arrived damaged")
        return self._offset_in(self._answer(resp, doc), resp)

    @staticmethod
    def _path(sha256: str) -> str:
        return f"/api/photos/{sha256}/upload"

    def _answer(self, resp: requests.Response, doc: Json | None = None) -> Json:
        doc = self.body(resp) if doc is None else doc
        if resp.status_code in (200, 201):
            return doc
        code = str(doc.get("code") or "bad_request")
        errors = doc.get("errors") if isinstance(doc.get("errors"), dict) else None
        if resp.status_code in _APP_REFUSED:
            raise ProtocolError(code, errors=errors)
        if resp.status_code == 429:
            raise TransportError(f"HTTP 429 {code}")  # too many at once: later, not refused
        error = CgtError(code, errors=errors)
        for field in ("message", "message_zh"):  # the server's words, with its numbers
            if isinstance(doc.get(field), str):
                setattr(error, field, doc[field])
        raise error

    @staticmethod
    def _offset_in(doc: Json, resp: requests.Response) -> int:
        value = doc.get("offset")
        if not isinstance(value, int):
            value = (doc.get("errors") or {}).get("offset")
        if not isinstance(value, int) or value < 0:
            raise TransportError(f"no offset in the answer (HTTP {resp.status_code})")
        return value
