"""The proxy test's plan (tests/integration/sync_fleet.py ``plan``) for any number of
mutations: the fleet records exactly that many, with the refusals the plan counts.

The fleet's own recording code (``Fleet`` of test_sync_proxy.py) runs here against phones
that only count, so the plan and what the fleet does cannot drift apart.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from server.services.demo import CITIZEN_PHONES

from .sync_fleet import plan
from .test_sync_proxy import Fleet


class CountingPhone:
    """What a fleet phone records, counted; it holds every case at version 1."""

    def __init__(self) -> None:
        self.recorded = 0
        self.expected_refusals: dict[int, str] = {}
        self.client = self

    def record(
        self, name: str, args: dict[str, Any], base: int | None = None, refusal: str = ""
    ) -> None:
        self.recorded += 1
        if refusal:
            self.expected_refusals[self.recorded] = refusal

    def version_of(self, collection: str, id: str) -> int:
        return 1


def recorded_by_the_fleet(total: int) -> Fleet:
    p = plan(total)
    fleet = Fleet.__new__(Fleet)  # no server, no proxy: only its recording
    fleet.plan, fleet.rng = p, random.Random(2026)
    fleet.inspectors = [f"inspector{i + 1}" for i in range(p.inspectors)]
    logins = [*fleet.inspectors, *CITIZEN_PHONES[: p.citizens]]
    fleet.phones = {n: CountingPhone() for n in [*logins, "dispatcher1", "handler_sanitation"]}
    fleet.photos = ["a" * 64, "b" * 64, "c" * 64]
    fleet.inspector_reports, fleet.reports, fleet.photo_rows = [], [], 0
    fleet.record_reports()
    fleet.record_desk_work()
    fleet.record_handling()
    return fleet


@given(st.integers(1, 2500))
@example(1)
@example(2)
@example(100)  # the old plan's floors alone were 89, and handle cannot exceed accept
@example(297)  # the old plan's rounded shares added up to more than the total
@example(10_000)  # the proxy test's own size
def test_the_fleet_records_exactly_the_planned_mutations(total: int) -> None:
    p = plan(total)
    fleet = recorded_by_the_fleet(total)
    phones = fleet.phones.values()
    assert p.total == total == sum(phone.recorded for phone in phones)
    assert sum(len(phone.expected_refusals) for phone in phones) == p.refusals
    assert len(fleet.reports) == p.inspectors * p.inspector_reports + p.citizens * p.citizen_reports
    assert p.handle <= p.accept <= p.dispatch <= p.register <= len(fleet.inspector_reports)
    assert 1 <= p.inspectors <= 4 and 0 <= p.citizens <= 3
    if total >= 5:  # room for every step: the proxy test counts each one's events
        assert min(p.register, p.dispatch, p.accept) >= 1


def test_the_ten_thousand_plan_is_the_proxy_tests_as_before() -> None:
    p = plan(10_000)
    assert (p.inspectors, p.inspector_reports, p.citizens, p.citizen_reports) == (4, 1500, 3, 300)
    assert (p.register, p.dispatch, p.accept, p.handle, p.refusals) == (700, 500, 400, 292, 8)
