"""Photos travel on their own path: resumable, chunked, identified by their sha256.

Device side, :class:`PhotoQueue` keeps one item per photo in the client store (so it survives
the app being killed), resumes from the offset the server reports, and isolates failures per
item: one bad photo goes to "needs attention" and never stalls the others; a photo over the
size cap is refused at once instead of looping forever. A server that cannot be reached at
all costs no tries (:class:`~sync.errors.Unreachable`); one that answers badly does. A refusal
of the whole app (:class:`~sync.errors.ProtocolError`: please update, please sign in) is no
photo's fault: it ends the run and reaches the sync attempt. Server side, :func:`accept_chunk`
is the pure assembly rule: given the bytes received so far, a chunk and its offset, the new
state, with the sha256 verified when the last byte arrives (the HTTP server's version with
files and locks is ``server/services/photo_uploads.py``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from shared_models.errors import CgtError

from .client_store import ClientStore, PhotoItem, PhotoStatus
from .errors import ProtocolError, TransportError, Unreachable
from .schedule import Backoff

MAX_PHOTO_BYTES = 10 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
ALLOWED_MIME = frozenset({"image/jpeg", "image/png", "image/webp"})


class PhotoTransport(Protocol):
    def offset(self, sha256: str, size: int, mime: str) -> int:
        """Start or resume an upload: how many bytes the server already holds."""
        ...

    def put_chunk(self, sha256: str, offset: int, chunk: bytes) -> int:
        """Send bytes at ``offset``; returns the server's new offset, which is its current
        one when it holds another (the queue resumes from there). Raises CgtError for a
        refused photo (hash_mismatch, payload_too_large, unsupported_media …), ProtocolError
        for a refused app, TransportError when the outcome is unknown."""
        ...


PhotoSource = Callable[[str, int, int], bytes]  # read(sha256, offset, length)
__all__ = ["PhotoItem", "PhotoQueue", "PhotoStatus", "PhotoTransport", "accept_chunk"]


class PhotoQueue:
    """The device's photo upload queue."""

    def __init__(
        self,
        store: ClientStore,
        transport: PhotoTransport,
        source: PhotoSource,
        clock: Callable[[], datetime],
        rng: random.Random,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        max_bytes: int = MAX_PHOTO_BYTES,
        max_failures: int = 6,
        backoff: Backoff | None = None,
    ) -> None:
        self.store, self.transport, self.source = store, transport, source
        self.clock, self.rng = clock, rng
        self.chunk_bytes, self.max_bytes, self.max_failures = chunk_bytes, max_bytes, max_failures
        self.backoff = backoff or Backoff()

    def _put(self, item: PhotoItem) -> None:
        with self.store.transaction() as tx:
            tx.put_photo(item)

    def add(self, sha256: str, size: int, mime: str) -> PhotoItem:
        """Queue a photo; one over the cap or of the wrong type needs attention at once."""
        item = PhotoItem(sha256, size, mime)
        if size > self.max_bytes:
            item = self._attention(item, CgtError("payload_too_large"))
        elif mime not in ALLOWED_MIME:
            item = self._attention(item, CgtError("unsupported_media"))
        with self.store.transaction() as tx:
            existing = tx.get_photo(sha256)
            if existing is not None:
                return existing
            tx.put_photo(item)
        return item

    def items(self) -> list[PhotoItem]:
        with self.store.transaction() as tx:
            return tx.photos()

    def status_of(self, shas: Iterable[str]) -> dict[str, PhotoStatus]:
        """For the app: which photos of a case are uploaded, waiting or need attention (a
        photo the queue does not know, e.g. discarded, needs attention)."""
        with self.store.transaction() as tx:
            found = {s: tx.get_photo(s) for s in shas}
        return {s: PhotoStatus.ATTENTION if i is None else i.status for s, i in found.items()}

    def discard(self, sha256: str) -> None:
        with self.store.transaction() as tx:
            tx.delete_photo(sha256)

    def retry(self, sha256: str) -> None:
        with self.store.transaction() as tx:
            item = tx.get_photo(sha256)
            if item is not None and item.status is PhotoStatus.ATTENTION:
                tx.put_photo(
                    replace(
                        item,
                        status=PhotoStatus.WAITING,
                        failures=0,
                        retry_at=None,
                        code=None,
                        message=None,
                        message_zh=None,
                    )
                )

    @staticmethod
    def _attention(item: PhotoItem, error: CgtError) -> PhotoItem:
        return replace(
            item,
            status=PhotoStatus.ATTENTION,
            code=error.code,
            message=error.message,
            message_zh=error.message_zh,
        )

    def counts(self) -> dict[PhotoStatus, int]:
        """For the app: how many photos are uploaded, waiting, or need attention."""
        counted = dict.fromkeys(PhotoStatus, 0)
        for item in self.items():
            counted[item.status] += 1
        return counted

    def run(self) -> None:
        """Upload every waiting photo that is due, each on its own: one photo's failure never
        stops the others. Stops early only when nobody answers or the app itself is refused."""
        now = self.clock()
        for item in self.items():
            if item.status is not PhotoStatus.WAITING:
                continue
            if item.retry_at is not None and datetime.fromisoformat(item.retry_at) > now:
                continue
            try:
                offset = self.transport.offset(item.sha256, item.size, item.mime)
            except Unreachable:
                return  # nobody answers: the other photos would fail the same way, uncounted
            except ProtocolError:
                raise  # update the app, sign in again: the sync attempt reports it
            except CgtError as error:
                self._put(self._attention(item, error))
                continue
            except TransportError:
                self._put(self._failed(item))  # the server answered badly: this one counts
                continue
            self._put(self._upload(replace(item, offset=offset)))

    def _upload(self, item: PhotoItem) -> PhotoItem:
        try:
            while item.offset < item.size:
                chunk = self.source(item.sha256, item.offset, self.chunk_bytes)
                if not chunk:
                    raise CgtError("not_found")  # the file went missing on the phone
                new_offset = self.transport.put_chunk(item.sha256, item.offset, chunk)
                if new_offset == item.offset:
                    raise TransportError("the server did not take the chunk")
                item = replace(item, offset=new_offset, failures=0)
                self._put(item)
            return replace(item, status=PhotoStatus.UPLOADED, retry_at=None)
        except ProtocolError:
            self._put(item)
            raise
        except CgtError as error:
            return self._attention(item, error)
        except TransportError:
            return self._failed(item)

    def _failed(self, item: PhotoItem) -> PhotoItem:
        """One more failed try: wait a backoff, or need attention after ``max_failures``."""
        failures = item.failures + 1
        if failures >= self.max_failures:
            return self._attention(item, CgtError("upload_failed", attempts=failures))
        wait = self.backoff.delay(failures, self.rng)
        return replace(item, failures=failures, retry_at=(self.clock() + wait).isoformat())


# ---------------------------------------------------------------- server side


@dataclass(frozen=True)
class ChunkOutcome:
    data: bytes  # what the server now holds for this upload
    complete: bool


def accept_chunk(
    have: bytes,
    offset: int,
    chunk: bytes,
    *,
    sha256: str,
    size: int,
    max_bytes: int = MAX_PHOTO_BYTES,
) -> ChunkOutcome:
    """Assemble an upload. A chunk at the wrong offset changes nothing (the device resumes
    from ``len(data)``); bytes past the declared size or the cap are refused; on the last byte
    the sha256 is verified and a mismatch refused (the caller drops what it held)."""
    if size > max_bytes or (offset == len(have) and len(have) + len(chunk) > size):
        raise CgtError("payload_too_large")
    if offset != len(have):
        return ChunkOutcome(have, len(have) == size)
    data = have + chunk
    if len(data) < size:
        return ChunkOutcome(data, False)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CgtError("hash_mismatch", sha256=sha256)
    return ChunkOutcome(data, True)
