"""When to sync: on app start, on reconnect, on demand and on a timer; never a busy loop.

A pure scheduler: it is told what happened (a trigger, a success, a failure, the clock)
and answers when the next attempt is due. The app's shell (a Kivy ``Clock`` callback, a
thread) sleeps until :meth:`SyncScheduler.next_due` and calls ``SyncClient.sync()``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Trigger(StrEnum):
    START = "start"
    RECONNECT = "reconnect"
    DEMAND = "demand"  # the user pulled to refresh / tapped 同步
    TIMER = "timer"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: a uniform delay in [min_delay, min(cap, base·2^n)]."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=15)
    min_delay: timedelta = timedelta(seconds=1)

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        ceiling = min(self.cap, self.base * (2 ** min(failures, 30)))
        low = min(self.min_delay, ceiling).total_seconds()
        return timedelta(seconds=rng.uniform(low, ceiling.total_seconds()))


class SyncScheduler:
    """Decides when the next sync attempt is due; holds no thread and never sleeps."""

    def __init__(
        self,
        rng: random.Random,
        *,
        interval: timedelta = timedelta(minutes=5),
        backoff: Backoff | None = None,
        min_gap: timedelta = timedelta(seconds=2),
        outcome_delay: timedelta = timedelta(seconds=3),
    ) -> None:
        self.rng = rng
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.min_gap = min_gap  # even on demand, attempts are at least this far apart
        # entries the server received but has not decided (rule D-8): ask again this soon,
        # doubling while they stay undecided, never later than ``interval``
        self.outcome_delay = outcome_delay
        self.outcome_polls = 0
        self.failures = 0
        self.running = False
        self.stopped = False  # the server wants a newer app: only a demand tries again
        self._due: datetime | None = None
        self._last_start: datetime | None = None

    def trigger(self, what: Trigger, now: datetime) -> None:
        if what is Trigger.RECONNECT:
            self.failures = 0  # the network is back: the old backoff no longer says anything
        if what is Trigger.DEMAND:
            self.stopped = False
        if self.stopped:
            return
        earliest = now if self._last_start is None else max(now, self._last_start + self.min_gap)
        self._due = earliest if self._due is None else min(self._due, earliest)

    def next_due(self) -> datetime | None:
        """When to call ``sync()`` next; None while one is running or when stopped."""
        return None if self.running or self.stopped else self._due

    def should_run(self, now: datetime) -> bool:
        due = self.next_due()
        return due is not None and due <= now

    def started(self, now: datetime) -> None:
        self.running = True
        self._last_start = now
        self._due = None

    def finished(
        self,
        now: datetime,
        *,
        ok: bool,
        update_required: bool = False,
        outcomes_pending: bool = False,
    ) -> None:
        """Record an attempt's outcome; a trigger that came meanwhile keeps its earlier time.
        ``outcomes_pending``: the device holds entries the server received and has not
        decided yet; the next attempt comes soon (``outcome_delay``, doubling) to fetch them."""
        self.running = False
        if update_required:
            self.stopped = True
            self._due = None
            return
        if ok:
            self.failures = 0
            nxt = now + self.interval
            if outcomes_pending:
                soon = self.outcome_delay * 2 ** min(self.outcome_polls, 30)
                nxt = now + min(self.interval, max(soon, self.min_gap))
                self.outcome_polls += 1
            else:
                self.outcome_polls = 0
        else:
            self.failures += 1
            nxt = now + self.backoff.delay(self.failures, self.rng)
        self._due = nxt if self._due is None else min(self._due, max(nxt, now + self.min_gap))
