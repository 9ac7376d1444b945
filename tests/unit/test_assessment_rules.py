"""The Qi county scoring rules (server/domain/assessment.py), by hand."""

from __future__ import annotations

from decimal import Decimal as D

from server.domain import assessment as a


def test_grades_at_their_boundaries() -> None:
    assert [a.grade(D(x)).name_zh for x in ("90", "89.99", "85", "84.99", "75", "74.99")] == [
        "优秀", "良好", "良好", "合格", "合格", "不合格"]  # fmt: skip


def test_weights_are_the_rules_1_8_4() -> None:
    assert {p.key: p.weight for p in a.PARTS} == {
        "digital": D("0.50"), "special": D("0.40"), "zongzhi": D("0.02"),
        "wenming": D("0.04"), "chengguan": D("0.02"), "chuangyuan": D("0.02")}  # fmt: skip


def test_digital_score_from_indicators() -> None:
    # (40 × 80 + 30 × 90 + 20 × 75 + 10 × (100 − 12.5)) / 100
    # = (3200 + 2700 + 1500 + 875) / 100 = 82.75
    rates = {"on_time_handle": 80.0, "closure": 90.0, "satisfaction": 75.0, "rework": 12.5}
    assert a.digital_score(rates) == (D("82.75"), False)
    # no ratings: satisfaction's weight goes to the others, in proportion
    # (40 × 80 + 30 × 90 + 10 × 87.5) / 80 = (3200 + 2700 + 875) / 80 = 84.6875 → 84.69
    assert a.digital_score({**rates, "satisfaction": None}) == (D("84.69"), False)
    # no cases at all: full marks, and said so
    assert a.digital_score(dict.fromkeys(rates)) == (D(100), True)


def test_bonus_cap_and_penalties() -> None:
    items = [
        a.Adjustment("extra_task", 5, "x"),  # 5 × 0.5 = 2.5
        a.Adjustment("extra_task", 2, "y"),  # +1.0 = 3.5, capped at 3 a month
        a.Adjustment("award_city", 1, "z"),  # +0.5
        a.Adjustment("media_national", 1, "w"),  # −2
        a.Adjustment("creation_point_lost", 3, "v"),  # −3
    ]
    assert a.adjustment_points(items) == (D("3.5"), D(5))


def test_monthly_score_and_missing_parts() -> None:
    entered = {"special": D(90), "zongzhi": D(100), "wenming": D(95), "chengguan": D(98),
               "chuangyuan": D(80)}  # fmt: skip
    rates = {"on_time_handle": 50.0, "closure": 50.0, "satisfaction": 100.0, "rework": 0.0}
    u = a.score_unit("M", "m", "m", rates, entered, [a.Adjustment("award_city", 1, "r")])
    # digital (40×50 + 30×50 + 20×100 + 10×100)/100 = 65; 0.5×65 + 0.4×90 + 0.02×100 + 0.04×95
    # + 0.02×98 + 0.02×80 = 32.5 + 36 + 2 + 3.8 + 1.96 + 1.6 = 77.86; + 0.5 bonus = 78.36
    assert (u.parts["digital"], u.total, u.grade.name_zh if u.grade else None) == (
        D(65), D("78.36"), "合格")  # fmt: skip
    partial = a.score_unit("P", "p", "p", rates, {**entered, "wenming": None}, [])
    assert partial.total is None and partial.missing == ["wenming"]


def _unit(key: str, total: str | None) -> a.UnitScore:
    u = a.UnitScore(key, key, key, {})
    u.total = None if total is None else D(total)
    return u


def test_ranking_shares_places_and_names_ties() -> None:
    ranked = a.rank([_unit("c", "85"), _unit("a", "91"), _unit("x", None), _unit("b", "85"),
                     _unit("d", "70")])  # fmt: skip
    assert [(u.key, u.rank) for u in ranked] == [
        ("a", 1), ("b", 2), ("c", 2), ("d", 4), ("x", None)]  # fmt: skip
    named = a.named([(u.key, u.total) for u in ranked if u.total is not None])
    assert named == a.Named(first=["a"], last=["d"], praised=["a", "b", "c"],
                            criticised=["b", "c", "d"])  # fmt: skip
    assert a.named([("solo", D(80))]) == a.Named(["solo"], [], ["solo"], [])


def test_year_is_the_mean_of_months() -> None:
    ys = a.year_scores({
        "2026-09": [("M", "m", "m", D("80.00")), ("S", "s", "s", D("90"))],
        "2026-10": [("M", "m", "m", D("80.86")), ("S", "s", "s", D("91.2"))],
    })  # fmt: skip
    # M: (80 + 80.86) / 2 = 80.43; S: (90 + 91.2) / 2 = 90.60
    assert [(y.key, y.mean, y.grade.name_zh, y.rank) for y in ys] == [
        ("S", D("90.60"), "优秀", 1), ("M", D("80.43"), "合格", 2)]  # fmt: skip
