"""When sync runs: on start, reconnect, demand and timer; backing off, never spinning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.schedule import Backoff, SyncScheduler, Trigger
from tests.sync.conftest import SYNC_SETTINGS

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def test_start_runs_at_once_then_the_timer_takes_over() -> None:
    s = SyncScheduler(random.Random(1))
    assert s.next_due() is None
    s.trigger(Trigger.START, T0)
    assert s.should_run(T0)
    s.started(T0)
    assert s.next_due() is None  # one at a time
    s.finished(T0 + timedelta(seconds=3), ok=True)
    assert s.next_due() == T0 + timedelta(seconds=3) + s.interval


def test_failures_back_off_and_reconnect_resets() -> None:
    s = SyncScheduler(random.Random(1))
    now = T0
    delays = []
    for _ in range(8):
        s.started(now)
        s.finished(now, ok=False)
        due = s.next_due()
        assert due is not None
        delays.append(due - now)
        now = due
    assert max(delays) <= Backoff().cap and delays[-1] > delays[0]
    s.trigger(Trigger.RECONNECT, now)
    assert s.failures == 0 and s.should_run(now + s.min_gap)


def test_demand_is_never_a_busy_loop() -> None:
    s = SyncScheduler(random.Random(1))
    s.started(T0)
    s.finished(T0, ok=True)
    s.trigger(Trigger.DEMAND, T0)
    assert s.next_due() == T0 + s.min_gap


def test_an_update_required_stops_automatic_syncs_until_asked() -> None:
    s = SyncScheduler(random.Random(1))
    s.started(T0)
    s.finished(T0, ok=False, update_required=True)
    s.trigger(Trigger.TIMER, T0)
    assert s.next_due() is None
    s.trigger(Trigger.DEMAND, T0 + timedelta(minutes=1))
    assert s.next_due() is not None


@SYNC_SETTINGS
@given(st.integers(0, 100), st.integers(0, 2**32))
def test_backoff_stays_within_its_bounds(failures: int, seed: int) -> None:
    b = Backoff()
    delay = b.delay(failures, random.Random(seed))
    assert b.min_delay <= delay <= b.cap


def test_undecided_entries_bring_the_next_sync_forward_then_back_off() -> None:
    """Entries the server received but has not decided (rule D-8): the next attempt comes
    soon to fetch their outcomes, doubling while they stay undecided, at most the timer."""
    s = SyncScheduler(random.Random(1))
    now = T0
    gaps = []
    for _ in range(12):
        s.started(now)
        s.finished(now, ok=True, outcomes_pending=True)
        due = s.next_due()
        assert due is not None
        gaps.append(due - now)
        now = due
    assert gaps[0] == s.outcome_delay and gaps[1] == 2 * s.outcome_delay
    assert gaps == sorted(gaps) and gaps[-1] == s.interval  # never more often than that
    s.started(now)
    s.finished(now, ok=True)  # all decided: the timer again, and the next wait starts short
    assert s.next_due() == now + s.interval and s.outcome_polls == 0
