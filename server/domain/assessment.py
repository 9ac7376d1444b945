"""The monthly assessment of responsible units (月度考核), as the Qi county (杞县) rules set it.

Source: 《杞县城市管理“三化”考评奖惩办法》 (seeds/002, 2021):

    月度考核成绩 = 数字城管 × 50% + 专项考核 × 40% + 综治平安建设 × 2% + 县文明办 × 4%
                 + 县城管办 × 2% + 县创园工作 × 2%   (the "1 + 8 + 4")
    plus bonus points, minus penalty points (五、加分项目 / 六、减分项目);
    年度考核成绩 = 月度考核成绩平均值;
    ≥ 90 优秀, 85–90 良好, 75–85 合格, < 75 不合格;
    the first two each month are praised, the last two criticised; first and last are named.

The rules leave the 数字城管 part to "城市数字化管理考核": here it is computed from the unit's
indicators (``DIGITAL_WEIGHTS``, docs/indicators.md). Pure Python, exact decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
FULL_MARKS = Decimal(100)


def q(x: Decimal) -> Decimal:
    """Round to two decimals, halves up (how a score sheet rounds)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Part:
    key: str
    name_zh: str
    name_en: str
    weight: Decimal
    entered: bool = True  # entered by the office; False: computed (数字城管)


PARTS: tuple[Part, ...] = (
    Part("digital", "数字城管", "Digital city management", Decimal("0.50"), entered=False),
    Part("special", "专项整治", "Special campaigns (8)", Decimal("0.40")),
    Part("zongzhi", "综治平安建设", "Public-safety governance", Decimal("0.02")),
    Part("wenming", "县文明办", "Civilisation Office", Decimal("0.04")),
    Part("chengguan", "县城管办", "City Management Office", Decimal("0.02")),
    Part("chuangyuan", "县创园工作", "Garden City campaign", Decimal("0.02")),
)
ENTERED_PARTS = tuple(p.key for p in PARTS if p.entered)
assert sum(p.weight for p in PARTS) == 1

# 数字城管 part: indicator → weight; a missing indicator (no cases) leaves its weight to the
# others, a unit with no cases at all gets full marks.
DIGITAL_WEIGHTS: dict[str, Decimal] = {
    "on_time_handle": Decimal(40),  # 按时处置率
    "closure": Decimal(30),  # 结案率
    "satisfaction": Decimal(20),  # 满意率
    "rework": Decimal(10),  # 返工率, scored as 100 − 返工率
}
LOWER_IS_BETTER = frozenset({"rework"})


@dataclass(frozen=True)
class Rule:
    """A bonus or penalty item of the rules, worth ``points`` each time."""

    code: str
    kind: str  # bonus | penalty
    points: Decimal
    name_zh: str
    name_en: str
    monthly_cap: Decimal | None = None


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("award_national", "bonus", Decimal(2), "获国家级表扬或奖励", "National commendation"),
        Rule("award_provincial", "bonus", Decimal(1), "获省级表扬或奖励",
             "Provincial commendation"),
        Rule("award_city", "bonus", Decimal("0.5"), "获市级表扬或奖励", "City commendation"),
        Rule("leader_praise", "bonus", Decimal(1), "县委县政府主要领导批示表扬",
             "Praised in writing by the county's leaders"),
        Rule("extra_task", "bonus", Decimal("0.5"), "承担并完成非自身职责内的问题",
             "Solved a problem outside its own duties", monthly_cap=Decimal(3)),
        Rule("media_national", "penalty", Decimal(2), "被国家级媒体曝光造成负面影响",
             "Exposed by national media"),
        Rule("media_provincial", "penalty", Decimal(1), "被省级媒体曝光造成负面影响",
             "Exposed by provincial media"),
        Rule("media_city", "penalty", Decimal("0.5"), "被市级媒体曝光造成负面影响",
             "Exposed by city media"),
        Rule("creation_point_lost", "penalty", Decimal(1), "创建工作中因城市管理问题失分（每处）",
             "A point lost in a county campaign inspection"),
        Rule("named_criticism", "penalty", Decimal(2), "被县委县政府主要领导点名批评或县级通报",
             "Named and criticised by the county's leaders or in a county bulletin"),
        Rule("refused_task", "penalty", Decimal(1), "推诿拒绝接受任务，经核实确为管辖内容",
             "Refused a task that proved to be its own"),
        Rule("poor_cooperation", "penalty", Decimal(1), "多部门联动中配合不力、推诿扯皮",
             "Poor cooperation in joint work"),
        Rule("key_task_missed", "penalty", Decimal(1), "县委县政府确定的城市管理重点任务未完成",
             "A key task set by the county not done"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Grade:
    key: str
    name_zh: str
    name_en: str
    min_score: Decimal


GRADES = (
    Grade("excellent", "优秀", "Excellent", Decimal(90)),
    Grade("good", "良好", "Good", Decimal(85)),
    Grade("pass", "合格", "Pass", Decimal(75)),
    Grade("fail", "不合格", "Fail", Decimal("-Infinity")),
)


def grade(score: Decimal) -> Grade:
    return next(g for g in GRADES if score >= g.min_score)


def digital_score(rates: Mapping[str, float | None]) -> tuple[Decimal, bool]:
    """The 数字城管 part (0–100) from the unit's indicator rates; ``True``: it had no cases."""
    num = den = Decimal(0)
    for key, weight in DIGITAL_WEIGHTS.items():
        value = rates.get(key)
        if value is None:
            continue
        v = Decimal(str(value))
        num += weight * (FULL_MARKS - v if key in LOWER_IS_BETTER else v)
        den += weight
    if den == 0:
        return FULL_MARKS, True
    return q(num / den), False


@dataclass(frozen=True)
class Adjustment:
    rule: str
    count: int
    reason: str


def adjustment_points(adjustments: Iterable[Adjustment]) -> tuple[Decimal, Decimal]:
    """(bonus, penalty) points, each rule's monthly cap applied."""
    per_rule: dict[str, Decimal] = {}
    for a in adjustments:
        per_rule[a.rule] = per_rule.get(a.rule, Decimal(0)) + RULES[a.rule].points * a.count
    bonus = penalty = Decimal(0)
    for code, points in per_rule.items():
        rule = RULES[code]
        if rule.monthly_cap is not None:
            points = min(points, rule.monthly_cap)
        if rule.kind == "bonus":
            bonus += points
        else:
            penalty += points
    return bonus, penalty


@dataclass
class UnitScore:
    """One unit's month: its parts, adjustments, total, grade and rank."""

    key: str
    name: str
    name_en: str
    parts: dict[str, Decimal | None]  # every part's 0–100 score; None: not entered yet
    no_cases: bool = False
    bonus: Decimal = Decimal(0)
    penalty: Decimal = Decimal(0)
    total: Decimal | None = None
    grade: Grade | None = None
    rank: int | None = None
    missing: list[str] = field(default_factory=list)


def score_unit(
    key: str,
    name: str,
    name_en: str,
    rates: Mapping[str, float | None],
    entered: Mapping[str, Decimal | None],
    adjustments: Iterable[Adjustment],
) -> UnitScore:
    """Weighted monthly score of one unit; no total while an entered part is missing."""
    digital, no_cases = digital_score(rates)
    parts: dict[str, Decimal | None] = {"digital": digital}
    parts.update({k: entered.get(k) for k in ENTERED_PARTS})
    bonus, penalty = adjustment_points(adjustments)
    u = UnitScore(key, name, name_en, parts, no_cases, bonus, penalty)
    u.missing = [k for k in ENTERED_PARTS if parts[k] is None]
    if not u.missing:
        weighted = sum((p.weight * (parts[p.key] or 0) for p in PARTS), Decimal(0))
        u.total = q(weighted + bonus - penalty)
        u.grade = grade(u.total)
    return u


def rank(units: list[UnitScore]) -> list[UnitScore]:
    """Rank by total, highest first; equal totals share a rank (1, 2, 2, 4); unscored last."""
    scored = sorted(
        (u for u in units if u.total is not None), key=lambda u: (-(u.total or 0), u.key)
    )
    for i, u in enumerate(scored):
        same = i > 0 and u.total == scored[i - 1].total
        u.rank = scored[i - 1].rank if same else i + 1
    return scored + sorted((u for u in units if u.total is None), key=lambda u: u.key)


@dataclass(frozen=True)
class Named:
    """Who the bulletin names: first and last place, the two praised and the two criticised."""

    first: list[str]
    last: list[str]
    praised: list[str]
    criticised: list[str]


def named(ranked: list[tuple[str, Decimal]]) -> Named:
    """From (key, score) highest first: ties at a boundary are all named."""
    if not ranked:
        return Named([], [], [], [])
    scores = [s for _, s in ranked]
    top, bottom = scores[0], scores[-1]
    second = scores[min(1, len(scores) - 1)]
    second_last = scores[max(len(scores) - 2, 0)]
    return Named(
        first=[k for k, s in ranked if s == top],
        last=[k for k, s in ranked if s == bottom] if len(ranked) > 1 else [],
        praised=[k for k, s in ranked if s >= second],
        criticised=[k for k, s in ranked if s <= second_last] if len(ranked) > 2 else [],
    )


@dataclass
class YearScore:
    key: str
    name: str
    name_en: str
    months: dict[str, Decimal]  # month → total
    mean: Decimal
    grade: Grade
    rank: int = 0


def year_scores(
    months: Mapping[str, Iterable[tuple[str, str, str, Decimal]]],
) -> list[YearScore]:
    """年度考核成绩 = mean of the unit's published monthly totals, ranked."""
    units: dict[str, YearScore] = {}
    for month, rows in sorted(months.items()):
        for key, name, name_en, total in rows:
            y = units.setdefault(key, YearScore(key, name, name_en, {}, Decimal(0), GRADES[-1]))
            y.months[month] = total
            y.name, y.name_en = name, name_en  # the latest month's names
    for y in units.values():
        y.mean = q(sum(y.months.values(), Decimal(0)) / len(y.months))
        y.grade = grade(y.mean)
    ordered = sorted(units.values(), key=lambda y: (-y.mean, y.key))
    for i, y in enumerate(ordered):
        y.rank = i + 1 if i == 0 or y.mean != ordered[i - 1].mean else ordered[i - 1].rank
    return ordered
