"""Errors of the sync engine.

User-facing refusals are :class:`shared_models.errors.CgtError` (they carry a bilingual
message); machinery failures that the engine retries or reports derive from :class:`SyncError`.
"""

from __future__ import annotations

from shared_models.errors import CgtError


class SyncError(Exception):
    """Root of the sync machinery's own failures (never shown to a user verbatim)."""


class TransportError(SyncError):
    """The request or its response did not make it; nothing is known, retry later."""


class Unreachable(TransportError):
    """Nobody answered at all (no network, server down): tries against it do not count."""


class ReceiptConflict(SyncError):
    """A concurrent transaction wrote the same receipt first; the engine re-reads it."""


class TransactionLost(SyncError):
    """The store's transaction was rolled back under the engine (a handler's own rollback
    after a lost optimistic-concurrency race): nothing of it may be committed; the engine
    starts the request again."""


class ProtocolError(CgtError):
    """An envelope the other side cannot accept: malformed, or a protocol it no longer speaks."""

    status = 400
    default_code = "bad_request"
    _STATUS = {"unsupported_protocol": 426, "forbidden": 403}

    def __init__(self, code: str | None = None, **kwargs: object) -> None:
        super().__init__(code, **kwargs)  # type: ignore[arg-type]
        self.status = self._STATUS.get(self.code, 400)

    @property
    def update_required(self) -> bool:
        return self.code == "unsupported_protocol"
