"""The 数字城管 indicators (考核指标): their counts, formulas and the periods they cover.

Pure Python: the service layer counts in SQL (``server.services.indicators``); this module
names the counts, turns them into rates and carries the formula text (Chinese and English)
that the console and the API show beside every figure. docs/indicators.md explains each
formula and the edge cases; ``tests/indicators`` works them out by hand.

Glossary: 上报 report · 立案 register · 不予立案 reject · 核实 verify · 派遣 dispatch ·
处置 handle · 核查 check · 结案 close · 返工 rework · 重新办理 reopen · 评价 rate ·
按时 on time · 超时 late · 超时未办 overdue (still not done).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared_models.errors import InvalidInput

# Longest period one request may ask for: a year's indicators stay one bounded scan.
MAX_PERIOD_DAYS = 366
# A rating of at least this many stars (of 5) counts as satisfied (满意).
SATISFIED_MIN_STARS = 4


class Dimension(StrEnum):
    """What a row of indicators is about."""

    CITY = "city"  # 全市
    DISTRICT = "district"  # 区
    STREET = "street"  # 街道
    COMMUNITY = "community"  # 社区
    GRID = "grid"  # 单元网格
    DEPARTMENT = "department"  # 责任单位
    INSPECTOR = "inspector"  # 监督员


# Grid codes are 15 digits: district (6) · street (+3) · community (+3) · cell (+3), so an
# area's code is a prefix of its cells' codes (enforced by the city import).
AREA_PREFIX = {
    Dimension.DISTRICT: 6,
    Dimension.STREET: 9,
    Dimension.COMMUNITY: 12,
    Dimension.GRID: 15,
}
AREAS = frozenset({Dimension.CITY, *AREA_PREFIX})
EVERYWHERE = frozenset(Dimension)

# Steps with a deadline (时限) and the actions that really complete each one. A step ended
# by another action (a merge, a return, the desk deciding during verification) is not an
# on-time completion; if it ended after its deadline it still counts as late.
STEP_ACTIONS: dict[str, tuple[str, ...]] = {
    "register": ("register", "reject", "request_verify"),
    "verify": ("verify",),
    "dispatch": ("dispatch",),
    "handle": ("handle",),
    "check": ("check",),
}
STEP_ZH = {
    "register": "立案",
    "verify": "核实",
    "dispatch": "派遣",
    "handle": "处置",
    "check": "核查",
}
STEP_EN = {
    "register": "registration",
    "verify": "verification",
    "dispatch": "dispatch",
    "handle": "handling",
    "check": "check",
}


@dataclass(frozen=True)
class CountDef:
    key: str
    name_zh: str
    name_en: str


def _step_counts() -> list[CountDef]:
    out = []
    for step, zh in STEP_ZH.items():
        en = STEP_EN[step]
        out += [
            CountDef(f"{step}_on_time", f"按时{zh}数", f"{en}s on time"),
            CountDef(f"{step}_late", f"超时{zh}数", f"{en}s done late"),
            CountDef(f"{step}_overdue", f"超时未{zh}数", f"{en}s overdue, not done"),
        ]
    return out


COUNTS: dict[str, CountDef] = {
    c.key: c
    for c in [
        CountDef("reported", "上报数", "reports"),
        CountDef("registered", "立案数", "registered"),
        CountDef("rejected", "不予立案数", "rejected"),
        CountDef("merged", "合并数", "merged duplicates"),
        *_step_counts(),
        CountDef("returned", "回退数", "returns"),
        CountDef("closure_base", "应结案数", "cases reported and registered"),
        CountDef("closure_done", "已结案数", "of those, closed"),
        CountDef("closed", "结案数", "closings"),
        CountDef("checked", "核查数", "checks"),
        CountDef("check_failed", "核查不通过数", "failed checks"),
        CountDef("reopened", "重新办理数", "reopened"),
        CountDef("ratings", "评价数", "ratings"),
        CountDef("satisfied", "满意数", f"ratings of {SATISFIED_MIN_STARS}–5 stars"),
    ]
}


@dataclass(frozen=True)
class Definition:
    """One indicator: its names, its formula as numerator and denominator sums of counts."""

    key: str
    name_zh: str
    name_en: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    dimensions: frozenset[Dimension]
    note_zh: str = ""
    note_en: str = ""
    complement: bool = field(default=False)  # lower is better (返工率)

    @property
    def formula_zh(self) -> str:
        return f"{self.name_zh} = {_sum_zh(self.numerator)} ÷ {_sum_zh(self.denominator)} × 100%"

    @property
    def formula_en(self) -> str:
        return f"{self.name_en} = {_sum_en(self.numerator)} ÷ {_sum_en(self.denominator)} × 100%"


def _sum_zh(keys: tuple[str, ...]) -> str:
    text = " + ".join(COUNTS[k].name_zh for k in keys)
    return f"({text})" if len(keys) > 1 else text


def _sum_en(keys: tuple[str, ...]) -> str:
    text = " + ".join(COUNTS[k].name_en for k in keys)
    return f"({text})" if len(keys) > 1 else text


def _step_rate(step: str, dims: frozenset[Dimension], note_zh: str, note_en: str) -> Definition:
    zh, en = STEP_ZH[step], STEP_EN[step]
    return Definition(
        f"on_time_{step}",
        f"按时{zh}率",
        f"on-time {en} rate",
        (f"{step}_on_time",),
        (f"{step}_on_time", f"{step}_late", f"{step}_overdue"),
        dims,
        note_zh,
        note_en,
    )


_LATE_ZH = "按时的在完成时计入；超时的在时限到期时计入（无论之后是否完成）。"
_LATE_EN = (
    "On-time steps count when done; late ones count when their deadline passed "
    "(done later or not at all)."
)
INSPECTORS = frozenset({*AREAS, Dimension.INSPECTOR})
DEPARTMENTS = frozenset({*AREAS, Dimension.DEPARTMENT})

DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in [
        Definition(
            "valid_registration",
            "有效立案率",
            "valid registration rate",
            ("registered",),
            ("registered", "rejected"),
            INSPECTORS,
            "本期作出立案决定（立案或不予立案）的上报；合并的重复上报不计。监督员：本人上报的案件。",
            "Reports decided in the period (registered or rejected); merged duplicates are "
            "not counted. Per inspector: the reports they filed.",
        ),
        _step_rate(
            "register",
            AREAS,
            "立案时限内受理员立案、不予立案或派核实。" + _LATE_ZH,
            "The desk registers, rejects or sends for verification within the limit. " + _LATE_EN,
        ),
        _step_rate(
            "verify",
            INSPECTORS,
            "监督员在核实时限内完成核实。" + _LATE_ZH,
            "The inspector verifies on site within the limit. " + _LATE_EN,
        ),
        _step_rate(
            "dispatch",
            AREAS,
            "派遣员在派遣时限内派遣（含回退后再派遣）。" + _LATE_ZH,
            "The desk dispatches within the limit (re-dispatch after a return "
            "included). " + _LATE_EN,
        ),
        _step_rate(
            "handle",
            DEPARTMENTS,
            "责任单位在处置时限内处置完毕；按时回退不计，超时回退计为超时。" + _LATE_ZH,
            "The department reports the case handled within the limit; a return in time is "
            "not counted, a late return counts as late. " + _LATE_EN,
        ),
        _step_rate(
            "check",
            INSPECTORS,
            "监督员在核查时限内完成核查。" + _LATE_ZH,
            "The inspector checks the fix within the limit. " + _LATE_EN,
        ),
        Definition(
            "closure",
            "结案率",
            "closure rate",
            ("closure_done",),
            ("closure_base",),
            DEPARTMENTS,
            "本期上报并已立案的案件中，到期末（或当前）已结案的（核查通过；之后被重新办理的仍计为"
            "已结案）。",
            "Of the cases reported in the period and registered, those closed (check passed) "
            "by the end of the period, or by now if it has not ended.",
        ),
        Definition(
            "rework",
            "返工率",
            "rework rate",
            ("check_failed", "reopened"),
            ("checked",),
            DEPARTMENTS,
            "本期核查不通过与市民重新办理的次数，占本期核查次数的比例。",
            "Failed checks and citizens' reopenings in the period, per check done in it.",
            complement=True,
        ),
        Definition(
            "satisfaction",
            "满意率",
            "satisfaction rate",
            ("satisfied",),
            ("ratings",),
            DEPARTMENTS,
            f"本期评价中{SATISFIED_MIN_STARS}–5星的比例。",
            f"Ratings given in the period with {SATISFIED_MIN_STARS}–5 stars.",
        ),
    ]
}
ORDER = (
    "valid_registration",
    "on_time_register",
    "on_time_dispatch",
    "on_time_handle",
    "on_time_check",
    "closure",
    "rework",
    "satisfaction",
    "on_time_verify",
)
assert set(ORDER) == set(DEFINITIONS)


@dataclass(frozen=True)
class Figure:
    """One indicator's value for one row: numerator, denominator and the rate in percent."""

    key: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The rate in percent (two decimals); None when nothing happened (no denominator)."""
        if self.denominator == 0:
            return None
        return round(100.0 * self.numerator / self.denominator, 2)

    @property
    def definition(self) -> Definition:
        return DEFINITIONS[self.key]


def figures(counts: dict[str, int], dimension: Dimension) -> dict[str, Figure]:
    """The indicators that apply to ``dimension``, computed from one row's counts."""
    out = {}
    for key in ORDER:
        d = DEFINITIONS[key]
        if dimension in d.dimensions:
            num = sum(counts.get(k, 0) for k in d.numerator)
            den = sum(counts.get(k, 0) for k in d.denominator)
            out[key] = Figure(key, num, den)
    return out


def counts_for(dimension: Dimension) -> tuple[str, ...]:
    """The counts worth showing for ``dimension``: those its indicators are made of."""
    keys: list[str] = []
    for key in ORDER:
        d = DEFINITIONS[key]
        if dimension in d.dimensions:
            keys += [k for k in (*d.numerator, *d.denominator) if k not in keys]
    extra: tuple[str, ...] = ("reported", "merged", "returned", "closed")
    if dimension is Dimension.INSPECTOR:
        extra = ("reported",)
    elif dimension is Dimension.DEPARTMENT:
        extra = ("returned", "closed")
    return tuple(k for k in COUNTS if k in keys or k in extra)


@dataclass(frozen=True)
class Period:
    """Local calendar days [start, end) in the city's time zone (北京时间 by default)."""

    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(errors={"to": ["Must be after 'from'. 结束日期须晚于开始日期。"]})
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise InvalidInput(
                errors={"to": [f"At most {MAX_PERIOD_DAYS} days. 最长{MAX_PERIOD_DAYS}天。"]}
            )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last) + timedelta(days=1))

    @classmethod
    def parse_month(cls, text: str, field_name: str = "month") -> Period:
        m = re.fullmatch(r"(\d{4})-(\d{2})", text or "")
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
            raise InvalidInput(errors={field_name: ["A month as YYYY-MM. 月份格式应为YYYY-MM。"]})
        return cls.month(int(m.group(1)), int(m.group(2)))

    @property
    def is_month(self) -> bool:
        return (
            self.start.day == 1 and self.end == Period.month(self.start.year, self.start.month).end
        )

    @property
    def label(self) -> str:
        if self.is_month:
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's start and end as UTC instants."""
        return _utc(self.start, tz), _utc(self.end, tz)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
