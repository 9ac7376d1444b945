"""What the sync bar shows and what the needs-attention list offers.

:class:`SyncState` is a snapshot (online or not, how many actions wait, the last successful
sync, how many need attention); :func:`bar_text` words it. :class:`AttentionItem` is one
refused action with the server's reason and what the user can do about it: fix and resend
(with edited fields where that makes sense), or discard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.case_mutations import ACTION, ATTACH_PHOTO, CHECK, RATE, REOPEN, REPORT, VERIFY
from sync.client import Counts
from sync.client_store import OutboxEntry

from .errors import Tr

TITLE_KEY = {
    REPORT: "attention.kind.report",
    ATTACH_PHOTO: "attention.kind.photo",
    VERIFY: "attention.kind.verify",
    CHECK: "attention.kind.check",
    RATE: "attention.kind.rate",
    REOPEN: "attention.kind.reopen",
    ACTION: "attention.kind.action",
}
# The fields a user may change before resending, per mutation; others can only be discarded
# or resent as they are (e.g. after a photo upload was retried).
EDITABLE = {
    REPORT: ("description", "address", "category_code", "lat", "lon", "coord_system"),
    VERIFY: ("note",),
    CHECK: ("note",),
    RATE: ("comment",),
    REOPEN: ("reason",),
}


@dataclass(frozen=True)
class SyncState:
    online: bool | None = None  # None: not tried yet
    syncing: bool = False
    waiting: int = 0
    sent: int = 0  # 已发送: the server has them, its decision is not known yet (rule D-8)
    attention: int = 0
    last_success_at: datetime | None = None
    update_required: bool = False
    signed_out: bool = False  # the server no longer takes this device's tokens

    @classmethod
    def of(cls, counts: Counts, **kwargs: Any) -> SyncState:
        return cls(
            waiting=counts.waiting,
            sent=counts.received,
            attention=counts.needs_attention,
            last_success_at=counts.last_success_at,
            update_required=counts.update_required,
            **kwargs,
        )


def ago(tr: Tr, then: datetime | None, now: datetime) -> str:
    if then is None:
        return tr("sync.never")
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return tr("time.just_now")
    if seconds < 3600:
        return tr("time.minutes_ago", n=seconds // 60)
    if seconds < 86400:
        return tr("time.hours_ago", n=seconds // 3600)
    return tr("time.days_ago", n=seconds // 86400)


def bar_text(tr: Tr, state: SyncState, now: datetime) -> str:
    """One line for the sync bar, e.g. "离线 · 2 条待发送 · 上次同步 5 分钟前"."""
    if state.update_required:
        return tr("sync.update_required")
    if state.signed_out:
        return tr("sync.sign_in_again")
    if state.syncing:
        head = tr("sync.syncing")
    elif state.online is False:
        head = tr("sync.offline")
    elif state.online:
        head = tr("sync.online")
    else:
        head = tr("sync.starting")
    parts = [head]
    if state.waiting:
        parts.append(tr("sync.waiting", n=state.waiting))
    if state.sent:  # the server has them; its decision comes with a later sync (rule D-8)
        parts.append(tr("sync.sent", n=state.sent))
    if not state.waiting and not state.sent:
        parts.append(tr("sync.all_sent"))
    parts.append(tr("sync.last", when=ago(tr, state.last_success_at, now)))
    return " · ".join(parts)


@dataclass(frozen=True)
class AttentionItem:
    seq: int
    name: str
    title_key: str
    code: str
    message: str
    message_zh: str
    args: dict[str, Any]
    editable: tuple[str, ...]
    photos: dict[str, str] = field(default_factory=dict)  # sha256 -> waiting/uploaded/attention
    created_at: datetime | None = None

    def reason(self, tr: Tr) -> str:
        return self.message_zh if tr.language == "zh" and self.message_zh else self.message

    @property
    def photo_problem(self) -> bool:
        return "attention" in self.photos.values() or self.code == "unknown_photo"


def attention_item(entry: OutboxEntry, photos: dict[str, str]) -> AttentionItem:
    return AttentionItem(
        seq=entry.seq,
        name=entry.name,
        title_key=TITLE_KEY.get(entry.name, "attention.kind.action"),
        code=entry.code or "bad_request",
        message=entry.message or "",
        message_zh=entry.message_zh or "",
        args=dict(entry.args),
        editable=EDITABLE.get(entry.name, ()),
        photos={k: str(v) for k, v in photos.items()},
        created_at=entry.created_at,
    )


def is_stale(state: SyncState, now: datetime, limit: timedelta = timedelta(hours=1)) -> bool:
    """Worth a warning colour: things wait and the last success is long ago (or never)."""
    if not state.waiting:
        return False
    return state.last_success_at is None or now - state.last_success_at > limit
