"""One signed-in user's device: the store, the photo queue and the sync engine over HTTP.

Each user gets a store file of their own (``device-<user id>.sqlite3``), so a phone shared by
two people never shows one the other's reports, and signing out loses nothing: the outbox
waits in the file until that user signs in again.

Two engines share the file, each on its own SQLite connection: ``local`` for what the user does
and sees (the I/O thread) and ``remote`` for sync (the sync thread). SQLite's WAL lets one read
while the other writes; every engine transaction is short.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared_models.errors import CgtError
from sync.case_mutations import REPORT, registry
from sync.client import SyncClient
from sync.http import HttpPhotoTransport, HttpTransport
from sync.photos import PhotoQueue
from sync.protocol import OutcomesRequest, PullPage, PullRequest, PushRequest, PushResponse
from sync.stores.sqlite_client import SqliteClientStore, SqliteClientTx

from .photo_library import PhotoLibrary
from .session import Account, SessionManager

Clock = Callable[[], datetime]
SCOPES = {
    "inspector": ("cases", "my_reports", "categories"),
}
DEFAULT_SCOPE = ("my_reports", "categories")
SAME_PROBLEM_KEY = "app:same_problem:"  # meta key prefix: case id -> ids the server suggested


def utcnow() -> datetime:
    return datetime.now(UTC)


class LockedStore(SqliteClientStore):
    """The SQLite store with its transactions serialised: one connection must never have two
    threads inside a transaction at once (the I/O thread and a test, a timeline cache write)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[SqliteClientTx]:
        with self._lock, super().transaction(durable) as tx:
            yield tx


class Tokens:
    """The user's access token for both HTTP transports, refreshed once when the server says
    it expired (safe to repeat: every sync and photo call is idempotent)."""

    def __init__(self, session: SessionManager, *transports: Any) -> None:
        self.session = session
        self.transports = transports

    def again(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except CgtError as error:
            if error.code not in ("token_expired", "unauthorized"):
                raise
            account = self.session.refresh()
            for t in self.transports:
                t.http.headers["Authorization"] = f"Bearer {account.access_token}"
            return call()


class SyncTransport:
    """``sync.client.Transport`` with token refresh; it also remembers the server's "same
    problem?" suggestions from report results, which the engine itself does not keep."""

    def __init__(self, inner: HttpTransport, tokens: Tokens, store: SqliteClientStore) -> None:
        self.inner, self.tokens, self.store = inner, tokens, store

    def push(self, request: PushRequest) -> PushResponse:
        response: PushResponse = self.tokens.again(lambda: self.inner.push(request))
        reports = {m.seq: m.args.get("id") for m in request.mutations if m.name == REPORT}
        self._remember(response, reports)
        return response

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        """What became of pushes the server received (deferred, rule D-8): a report's
        "same problem?" suggestions arrive here then, not with the push's answer."""
        response: PushResponse = self.tokens.again(lambda: self.inner.outcomes(request))
        self._remember(response, {})
        return response

    def _remember(self, response: PushResponse, reports: dict[int, object]) -> None:
        found = [
            (str(reports.get(r.seq) or r.result.get("case_id")), r.result.get("same_problem"))
            for r in response.results
            if r.result.get("same_problem") and (r.seq in reports or r.result.get("case_id"))
        ]
        if found:
            with self.store.transaction() as tx:
                for case_id, ids in found:
                    tx.set_meta(SAME_PROBLEM_KEY + case_id, json.dumps(ids))

    def pull(self, request: PullRequest) -> PullPage:
        page: PullPage = self.tokens.again(lambda: self.inner.pull(request))
        return page


class PhotoTransport:
    """``sync.photos.PhotoTransport`` with token refresh."""

    def __init__(self, inner: HttpPhotoTransport, tokens: Tokens) -> None:
        self.inner, self.tokens = inner, tokens

    def offset(self, sha256: str, size: int, mime: str) -> int:
        return int(self.tokens.again(lambda: self.inner.offset(sha256, size, mime)))

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        return int(self.tokens.again(lambda: self.inner.put_chunk(sha256, offset, chunk)))


class Device:
    """The sync machinery of one account on this phone."""

    def __init__(
        self,
        folder: str | Path,
        session: SessionManager,
        base: str,
        *,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        batch_size: int = 50,
        page_limit: int = 200,
    ) -> None:
        account: Account = session.require()
        self.account = account
        self.folder = Path(folder)
        self.photos = PhotoLibrary(self.folder / "photos")
        path = self.folder / f"device-{account.user_id}.sqlite3"
        self.local_store = LockedStore(path)
        self.remote_store = LockedStore(path)
        rng = rng or random.Random()
        scope = SCOPES.get(account.role, DEFAULT_SCOPE)
        reg = registry()

        def ids() -> str:
            return str(uuid.uuid4())

        self.local_photos = self._queue(self.local_store, _NoPhotoNetwork(), clock, rng)
        self.local = SyncClient(
            self.local_store, _NoNetwork(), reg, clock, ids, scope=scope, photos=self.local_photos
        )
        http = HttpTransport(base, account.access_token)
        http_photos = HttpPhotoTransport(base, account.access_token)
        tokens = Tokens(session, http, http_photos)
        self.transport = SyncTransport(http, tokens, self.remote_store)
        self.photo_queue = self._queue(
            self.remote_store, PhotoTransport(http_photos, tokens), clock, rng
        )
        self.remote = SyncClient(
            self.remote_store, self.transport, reg, clock, ids, scope=scope,
            photos=self.photo_queue, batch_size=batch_size, page_limit=page_limit,
            defer=True,  # answered "received" at once, the outcomes at a later sync (D-1)
        )  # fmt: skip

    def _queue(self, store: SqliteClientStore, transport: Any, clock: Clock, rng: random.Random) \
            -> PhotoQueue:  # fmt: skip
        # chunked and resumable (sync.photos): a weak network resumes where it stopped
        return PhotoQueue(store, transport, self.photos.read, clock, rng)

    def close(self) -> None:
        self.local_store.close()
        self.remote_store.close()


class _NoNetwork:
    """The I/O thread's engine never syncs: only the sync thread talks to the server."""

    def push(self, request: PushRequest) -> PushResponse:
        raise AssertionError("the local engine does not sync")

    def pull(self, request: PullRequest) -> PullPage:
        raise AssertionError("the local engine does not sync")

    def outcomes(self, request: OutcomesRequest) -> PushResponse:
        raise AssertionError("the local engine does not sync")


class _NoPhotoNetwork:
    def offset(self, sha256: str, size: int, mime: str) -> int:
        raise AssertionError("the local engine does not upload")

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        raise AssertionError("the local engine does not upload")
