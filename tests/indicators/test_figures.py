"""Indicator figures on the story of ``story.py``, every one worked out by hand.

Rules being checked (docs/indicators.md): an on-time step counts in the period it was done;
a late step in the period its deadline passed (done later or not at all); a merged duplicate
counts nowhere; a rate with nothing behind it is null, never 0 or 100.
"""

from __future__ import annotations

from flask import Flask

from server.db import database
from server.domain.indicators import Dimension, Period
from server.services import indicators as svc

from .story import BEIJING, NOW, bj

OCT, NOV, SEP = Period.month(2026, 10), Period.month(2026, 11), Period.month(2026, 9)
XINHUA, WEIDONG = "410402", "410403"


def report(app: Flask, period: Period, dimension: Dimension) -> dict[str, svc.Row]:
    with database(app).session() as s:
        rep = svc.compute(s, period, dimension, bj(NOW), BEIJING)
    return {r.key: r for r in rep.rows}


def figs(row: svc.Row) -> dict[str, tuple[int, int, float | None]]:
    return {k: (f.numerator, f.denominator, f.value) for k, f in row.figures.items()}


def test_november_for_the_whole_city(app: Flask, story: dict[str, str]) -> None:
    city = report(app, NOV, Dimension.CITY)["city"]
    # Reports in November: C E F G H I J = 7 (D is merged into C: not a case of its own;
    # B was reported on Oct 31).
    assert city.counts["reported"] == 7
    assert city.counts["merged"] == 1
    assert figs(city) == {
        # registered C F H I = 4, rejected E J = 2 → 4 / 6
        "valid_registration": (4, 6, 66.67),
        # on time: C, F, I, J (register/reject) + H sent to verify at 09:05 (due 09:15) = 5;
        # late: E rejected 09:30 (due 09:15), H registered 09:40 (due 09:35 after the
        # verification restarted the clock) = 2; G is due 12:05, after now → not yet due.
        # 5 / (5 + 2 + 0)
        "on_time_register": (5, 7, 71.43),
        # C F H, I twice (first dispatch and re-dispatch after the return) = 5, none late
        "on_time_dispatch": (5, 5, 100.0),
        # on time: C three times (first handling, after the failed check, after the
        # reopening), H, I by MUNICIPAL = 5. Late: I's return by SANITATION at 12:00 (due
        # 11:10) = 1. Overdue: F, due Nov 5 11:15, never handled = 1. B's late handling
        # (done Nov 1) belongs to October, where its deadline passed. 5 / (5 + 1 + 1)
        "on_time_handle": (5, 7, 71.43),
        # on time: B (Nov 1 09:30, due 10:00), C failed + C passed + C passed again, I = 5;
        # late: H checked 11:30, due 11:00 = 1.  5 / 6
        "on_time_check": (5, 6, 83.33),
        # registered in November (merged ones left out): C F H I = 4; closed by now:
        # C H I = 3 (F is still open).  3 / 4
        "closure": (3, 4, 75.0),
        # checks in November: B, C ×3, H, I = 6; failed check of C + C reopened = 2.  2 / 6
        "rework": (2, 6, 33.33),
        # ratings in November: C with 2 stars = 1, satisfied (4–5 stars) 0.  0 / 1
        "satisfaction": (0, 1, 0.0),
        # H verified 09:20, due 09:35.  1 / 1
        "on_time_verify": (1, 1, 100.0),
    }
    # closings (check passed) in November: B, C twice, H, I = 5; one return (I)
    assert city.counts["closed"] == 5
    assert city.counts["returned"] == 1
    assert city.counts["handle_late"] == 1 and city.counts["handle_overdue"] == 1


def test_october_counts_the_step_that_was_late_there(app: Flask, story: dict[str, str]) -> None:
    city = report(app, OCT, Dimension.CITY)["city"]
    assert city.counts["reported"] == 2  # A, B
    assert figs(city) == {
        "valid_registration": (2, 2, 100.0),  # A B registered, none rejected
        "on_time_register": (2, 2, 100.0),
        "on_time_dispatch": (2, 2, 100.0),
        # A handled on time; B due Oct 31 22:10 and handled Nov 1 09:00: late, counted in
        # October when its deadline passed.  1 / (1 + 1)
        "on_time_handle": (1, 2, 50.0),
        "on_time_check": (1, 1, 100.0),  # A; B's check was in November
        # registered in October: A B; closed by the end of October (Nov 1 00:00 Beijing):
        # only A (B closed Nov 1 09:30).  1 / 2
        "closure": (1, 2, 50.0),
        "rework": (0, 1, 0.0),  # one check (A), passed
        "satisfaction": (1, 1, 100.0),  # A: 5 stars
        "on_time_verify": (0, 0, None),  # no verification: null, not 0 or 100
    }


def test_a_period_across_the_month_boundary(app: Flask, story: dict[str, str]) -> None:
    # Oct 31 and Nov 1 only: all of B.
    city = report(app, Period(bj(NOW).date().replace(month=10, day=31), NOV.start.replace(day=2)),
                  Dimension.CITY)["city"]  # fmt: skip
    f = figs(city)
    assert city.counts["reported"] == 1
    assert f["on_time_handle"] == (0, 1, 0.0)  # B's late handling
    assert f["on_time_check"] == (1, 1, 100.0)
    assert f["closure"] == (1, 1, 100.0)  # closed Nov 1, before the period's end


def test_no_cases_means_null_rates_not_zero(app: Flask, story: dict[str, str]) -> None:
    city = report(app, SEP, Dimension.CITY)["city"]
    assert all(v == 0 for v in city.counts.values())
    assert {k: f.value for k, f in city.figures.items()} == dict.fromkeys(city.figures)
    # a unit without cases is still listed, with null rates
    gas = report(app, NOV, Dimension.DEPARTMENT)["GAS"]
    assert {f.value for f in gas.figures.values()} == {None}


def test_per_department(app: Flask, story: dict[str, str]) -> None:
    rows = report(app, NOV, Dimension.DEPARTMENT)
    municipal, sanitation = figs(rows["MUNICIPAL"]), figs(rows["SANITATION"])
    # Departments get the indicators that are theirs, not the desk's or the inspectors'.
    assert set(municipal) == {"on_time_handle", "closure", "rework", "satisfaction"}
    # MUNICIPAL: C ×3, H, I handled on time = 5; F overdue = 1.  5 / 6
    assert municipal["on_time_handle"] == (5, 6, 83.33)
    assert municipal["closure"] == (3, 4, 75.0)  # C F H I registered, C H I closed
    assert municipal["rework"] == (2, 6, 33.33)
    assert municipal["satisfaction"] == (0, 1, 0.0)
    # SANITATION held I past its deadline and then returned it: a late handling.
    assert sanitation["on_time_handle"] == (0, 1, 0.0)
    assert rows["SANITATION"].counts["returned"] == 1
    assert sanitation["closure"] == (0, 0, None)


def test_per_area(app: Flask, story: dict[str, str]) -> None:
    districts = report(app, NOV, Dimension.DISTRICT)
    # J (inspector1's report) lies in 卫东区; everything else in 新华区.
    xinhua, weidong = figs(districts[XINHUA]), figs(districts[WEIDONG])
    assert xinhua["valid_registration"] == (4, 5, 80.0)  # C F H I of C E F H I
    assert xinhua["on_time_register"] == (4, 6, 66.67)  # C F H(verify) I; late E H
    assert weidong["valid_registration"] == (0, 1, 0.0)  # J rejected
    assert weidong["on_time_register"] == (1, 1, 100.0)  # J rejected in time
    assert weidong["on_time_handle"] == (0, 0, None)
    # the grid cell, community and street of INSPECTOR_CELL hold the same as 新华区
    for dim, code in ((Dimension.GRID, "410402001001001"), (Dimension.COMMUNITY, "410402001001"),
                      (Dimension.STREET, "410402001")):  # fmt: skip
        assert figs(report(app, NOV, dim)[code]) == xinhua
    assert report(app, NOV, Dimension.GRID)["410402001001001"].name.endswith("网格")


def test_per_inspector(app: Flask, story: dict[str, str]) -> None:
    row = report(app, NOV, Dimension.INSPECTOR)["inspector1"]
    assert figs(row) == {
        "valid_registration": (0, 1, 0.0),  # J, their own report, rejected
        "on_time_check": (5, 6, 83.33),  # every check was theirs; H's was late
        "on_time_verify": (1, 1, 100.0),  # H
    }
    assert row.counts["reported"] == 1
    other = report(app, NOV, Dimension.INSPECTOR)["inspector7"]
    assert {f.value for f in other.figures.values()} == {None}


def test_figures_carry_their_formula(app: Flask, story: dict[str, str]) -> None:
    f = report(app, NOV, Dimension.CITY)["city"].figures["on_time_handle"]
    assert f.definition.formula_zh == (
        "按时处置率 = 按时处置数 ÷ (按时处置数 + 超时处置数 + 超时未处置数) × 100%"
    )
    assert "on-time handling rate" in f.definition.formula_en
