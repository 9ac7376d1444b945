"""My reports (我的上报): every case the user reported, newest first, each with its state, the
deadline of the current step as the server shows citizens, its public timeline, and — once
closed — a rating or a reopen when the problem is not really fixed.

Rows come from the device store (``my_reports``: the server's reporter view, and reports still
waiting to be sent shown from the outbox); the timeline is fetched when online and kept for
offline reading. Rating and reopening are recorded offline like everything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared_models.schemas import REASON_MAX
from sync.case_mutations import ACTION, RATE, REOPEN, REPORT
from sync.client import SyncClient

from .api import Api
from .device import SAME_PROBLEM_KEY
from .errors import FormInvalid

TIMELINE_KEY = "app:timeline:"
RATING_WINDOW = timedelta(days=15)  # server defaults (RATING_WINDOW_DAYS, REOPEN_WINDOW_DAYS);
REOPEN_WINDOW = timedelta(days=7)  # the server stays the judge and refuses with its reason


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class ReportRow:
    id: str
    state: str  # a server state, or "waiting" before the server has it
    category_code: str
    category_name: str
    category_name_en: str
    address: str
    description: str
    created_at: datetime | None
    deadline: datetime | None
    light: str | None
    rating: int | None
    closed_at: datetime | None
    version: int | None
    photos: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # mutations about this case still in the outbox
    sent: bool = False  # ... every one of them received by the server, not decided (已发送)
    same_problem: tuple[str, ...] = ()  # open cases nearby the server offered to join
    reject_reason: str | None = None
    merged_into: str | None = None
    # The viewer rates and reopens (a citizen or merchant): an inspector's own collected cases
    # list here too, but the server refuses their rating and reopening (RATING_ROLES).
    rater: bool = True

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"

    def can_rate(self, now: datetime) -> bool:
        return (
            self.rater
            and self.state == "closed"
            and self.rating is None
            and RATE not in self.pending
            and self.closed_at is not None
            and now - self.closed_at <= RATING_WINDOW
        )

    def can_reopen(self, now: datetime) -> bool:
        return (
            self.rater
            and self.state == "closed"
            and REOPEN not in self.pending
            and self.closed_at is not None
            and now - self.closed_at <= REOPEN_WINDOW
        )

    def can_join(self) -> bool:
        return bool(self.same_problem) and self.state in ("reported", "verifying", "registered")


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    state: str
    at: datetime | None
    by: str
    by_zh: str
    note: str = ""


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry] = field(default_factory=list)
    fetched: bool = False  # False: nothing from the server yet (offline since the report)


def _row(
    data: dict[str, Any],
    pending: tuple[str, ...],
    same: tuple[str, ...],
    rater: bool,
    sent: bool = False,
) -> ReportRow:
    category = data.get("category") or {}
    code = str(category.get("code") or data.get("category_code") or "")
    photos = data.get("photos") or []
    shas = tuple(p["sha256"] if isinstance(p, dict) else str(p) for p in photos)
    return ReportRow(
        id=str(data["id"]),
        state=str(data.get("state") or "waiting"),
        category_code=code,
        category_name=str(category.get("name") or ""),
        category_name_en=str(category.get("name_en") or ""),
        address=str(data.get("address") or ""),
        description=str(data.get("description") or ""),
        created_at=_time(data.get("created_at")),
        deadline=_time(data.get("step_deadline")),
        light=data.get("light"),
        rating=data.get("rating"),
        closed_at=_time(data.get("closed_at")),
        version=data.get("version"),
        photos=shas,
        pending=pending,
        sent=sent and bool(pending),
        same_problem=same,
        reject_reason=data.get("reject_reason"),
        merged_into=data.get("merged_into"),
        rater=rater,
    )


class MyReports:
    def __init__(
        self, client: SyncClient, clock: Callable[[], datetime], rater: bool = True
    ) -> None:
        self.client = client
        self.clock = clock
        self.rater = rater  # a citizen or merchant: rating and reopening are theirs

    def _pending(self) -> tuple[dict[str, list[str]], set[str]]:
        """The outbox's mutations per case, and the cases with one not yet sent."""
        out: dict[str, list[str]] = {}
        unsent: set[str] = set()
        sent = self.client.sent()
        for entry in [*self.client.waiting(), *sent, *self.client.needs_attention()]:
            case_id = entry.args.get("case_id") or (entry.args.get("id") if entry.name == REPORT
                                                    else None)  # fmt: skip
            if case_id:
                out.setdefault(str(case_id), []).append(entry.name)
                if entry not in sent:
                    unsent.add(str(case_id))
        return out, unsent

    def _same(self) -> dict[str, tuple[str, ...]]:
        with self.client.store.transaction() as tx:
            items = tx.meta_items(SAME_PROBLEM_KEY)
        return {k[len(SAME_PROBLEM_KEY) :]: tuple(json.loads(v)) for k, v in items}

    def rows(self) -> list[ReportRow]:
        (pending, unsent), same = self._pending(), self._same()
        rows = [
            _row(data, tuple(pending.get(id, ())), same.get(id, ()), self.rater, id not in unsent)
            for id, data in self.client.all("my_reports").items()
        ]
        never = datetime.max.replace(tzinfo=None)

        def newest_first(r: ReportRow) -> tuple[bool, float]:
            at = r.created_at
            return (not r.waiting, -(at.timestamp() if at else never.timestamp()))

        return sorted(rows, key=newest_first)

    def get(self, case_id: str) -> ReportRow | None:
        return next((r for r in self.rows() if r.id == case_id), None)

    # -------------------------------------------------------------- timeline

    def cached_timeline(self, case_id: str) -> Timeline:
        with self.client.store.transaction() as tx:
            raw = tx.get_meta(TIMELINE_KEY + case_id)
        if raw is None:
            return Timeline()
        return Timeline(_entries(raw), True)

    def fetch_timeline(self, api: Api, case_id: str) -> Timeline:
        """Ask the server (online only; raises Offline), keep the answer for offline reading."""
        return self.keep_timeline(case_id, api.timeline(case_id))

    def keep_timeline(self, case_id: str, items: list[dict[str, Any]]) -> Timeline:
        """Store a timeline the server sent (the app fetches on the network thread and stores
        on the I/O thread)."""
        text = json.dumps(items, ensure_ascii=False)
        with self.client.store.transaction() as tx:
            tx.set_meta(TIMELINE_KEY + case_id, text)
        return Timeline(_entries(text), True)

    # -------------------------------------------------------------- actions

    def rate(self, case_id: str, stars: int, comment: str = "") -> None:
        if not 1 <= stars <= 5:
            raise FormInvalid({"stars": "reports.need_stars"})
        if len(comment.strip()) > REASON_MAX:
            raise FormInvalid({"comment": "reports.comment_too_long"})
        args = {"case_id": case_id, "stars": stars, "comment": comment.strip()}
        self.client.record(RATE, args, self.client.version_of("my_reports", case_id))

    def reopen(self, case_id: str, reason: str, photos: list[str] | None = None) -> None:
        reason = reason.strip()
        if not reason:
            raise FormInvalid({"reason": "reports.need_reason"})
        if len(reason) > REASON_MAX:
            raise FormInvalid({"reason": "reports.reason_too_long"})
        args = {"case_id": case_id, "reason": reason, "photos": list(photos or [])}
        self.client.record(REOPEN, args, self.client.version_of("my_reports", case_id))

    def join(self, case_id: str, target: str) -> None:
        """Accept a "same problem?" suggestion: my report joins that open case (合并)."""
        row = self.get(case_id)
        if row is None or target not in row.same_problem:
            raise FormInvalid({"target": "reports.bad_join"})
        args = {"case_id": case_id, "action": "merge", "target": target}
        self.client.record(ACTION, args, self.client.version_of("my_reports", case_id))
        with self.client.store.transaction() as tx:
            tx.delete_meta(SAME_PROBLEM_KEY + case_id)

    def dismiss_same(self, case_id: str) -> None:
        with self.client.store.transaction() as tx:
            tx.delete_meta(SAME_PROBLEM_KEY + case_id)


def _entries(raw: str) -> list[TimelineEntry]:
    out = []
    for e in json.loads(raw):
        out.append(
            TimelineEntry(
                action=str(e.get("action") or ""),
                state=str(e.get("state") or ""),
                at=_time(e.get("at")),
                by=str(e.get("by") or ""),
                by_zh=str(e.get("by_zh") or ""),
                note=str(e.get("note") or ""),
            )
        )
    return out
