"""The category catalogue (问题分类目录): components (部件) and events (事件) with time limits.

Codes follow GB/T 30428.2 / CJ/T 214: ``BJ`` component or ``SJ`` event, two digits for the class
(大类) and two for the sub-class (小类), e.g. ``BJ0101`` 井盖 (manhole cover). A case is always
filed under a sub-class. This module is pure: it parses and validates the catalogue document
(``data/categories.json`` or an admin upload of the same shape) and searches it; the server
stores it and checks the department codes against its own table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .enums import CategoryKind, Step, TimeUnit
from .errors import InvalidInput

DATA_FILE = Path(__file__).with_name("data") / "categories.json"
STEPS = tuple(s.value for s in Step)
PREFIX = {CategoryKind.COMPONENT: "BJ", CategoryKind.EVENT: "SJ"}
CLASS_RE = re.compile(r"^(BJ|SJ)\d{2}$")
SUBCLASS_RE = re.compile(r"^(BJ|SJ)\d{4}$")

# Sub-classes other modules file cases under.
MANHOLE_COVER = "BJ0101"  # 井盖
PUBLIC_TOILET = "BJ0301"  # 公共厕所: toilet feedback becomes a case here
EXPOSED_GARBAGE = "SJ0101"  # 暴露垃圾
ILLEGAL_ADS = "SJ0201"  # 违规广告
STREET_VENDING = "SJ0501"  # 占道经营
FRONTAGE_DUTY = "SJ0508"  # 门前三包: unresolved rectification notices escalate here


@dataclass(frozen=True)
class Category:
    """One sub-class (小类) with the values a case needs: department, limits, verification."""

    code: str
    kind: CategoryKind
    class_code: str
    class_name: str
    class_name_en: str
    name: str
    name_en: str
    keywords: tuple[str, ...]
    department: str | None
    limits: Mapping[str, float]
    time_unit: TimeUnit = TimeUnit.WORKING
    needs_verify: bool = True
    search_terms: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The flat form the API serves and the server stores."""
        return {
            "code": self.code,
            "kind": self.kind.value,
            "class_code": self.class_code,
            "class_name": self.class_name,
            "class_name_en": self.class_name_en,
            "name": self.name,
            "name_en": self.name_en,
            "keywords": list(self.keywords),
            "department": self.department,
            "limits": dict(self.limits),
            "time_unit": self.time_unit.value,
            "needs_verify": self.needs_verify,
        }


def make_category(**values: Any) -> Category:
    """Build a Category from its flat form, filling the lower-cased search terms."""
    terms = (values["code"], values["name"], values["name_en"], *values["keywords"])
    return Category(
        code=values["code"],
        kind=CategoryKind(values["kind"]),
        class_code=values["class_code"],
        class_name=values["class_name"],
        class_name_en=values.get("class_name_en", ""),
        name=values["name"],
        name_en=values.get("name_en", ""),
        keywords=tuple(values["keywords"]),
        department=values.get("department"),
        limits=dict(values["limits"]),
        time_unit=TimeUnit(values.get("time_unit", TimeUnit.WORKING)),
        needs_verify=bool(values.get("needs_verify", True)),
        search_terms=tuple(t.casefold() for t in terms if t),
    )


class _Errors:
    """Collects field errors under a nested path, marshmallow-style."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.count = 0

    def add(self, path: Iterable[str], message: str) -> None:
        node = self.tree
        *parents, leaf = list(path)
        for key in parents:
            node = node.setdefault(key, {})
        node.setdefault(leaf, []).append(message)
        self.count += 1


def _text(value: Any, required: bool = True) -> str | None:
    if isinstance(value, str) and (value.strip() or not required):
        return value.strip()
    return None


def _limits(raw: Any, errs: _Errors, path: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    if not isinstance(raw, dict):
        errs.add(path, "Must be an object of hours per step. 时限须为各环节小时数。")
        return out
    for key, hours in raw.items():
        if key not in STEPS:
            errs.add([*path, str(key)], f"Unknown step; use {', '.join(STEPS)}. 未知环节。")
        elif isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
            errs.add([*path, key], "Must be a positive number of hours. 须为正数小时。")
        else:
            out[key] = float(hours)
    return out


def _subclass(
    raw: Any, cls: dict[str, Any], defaults: dict[str, Any], errs: _Errors, path: list[str]
) -> Category | None:
    before = errs.count
    if not isinstance(raw, dict):
        errs.add(path, "Must be an object. 须为对象。")
        return None
    code, name = _text(raw.get("code")), _text(raw.get("name"))
    if code is None or not SUBCLASS_RE.match(code) or not code.startswith(cls["code"]):
        errs.add([*path, "code"], f"Must be {cls['code']} plus two digits. 小类编码格式错误。")
    if name is None:
        errs.add([*path, "name"], "Required. 必填。")
    name_en = _text(raw.get("name_en", ""), required=False)
    if name_en is None:
        errs.add([*path, "name_en"], "Must be text. 须为文本。")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        errs.add([*path, "keywords"], "Must be a list of words. 须为关键词列表。")
        keywords = []
    department = raw.get("department", defaults.get("department"))
    if department is not None and _text(department) is None:
        errs.add([*path, "department"], "Must be a department code. 须为责任单位编码。")
    limits = _limits(defaults.get("limits", {}), errs, [*path, "limits"])
    limits.update(_limits(raw.get("limits", {}), errs, [*path, "limits"]))
    missing = [s for s in STEPS if s not in limits]
    if missing:
        errs.add([*path, "limits"], f"Missing hours for {', '.join(missing)}. 缺少环节时限。")
    time_unit = raw.get("time_unit", defaults.get("time_unit", TimeUnit.WORKING.value))
    if time_unit not in {t.value for t in TimeUnit}:
        errs.add([*path, "time_unit"], "Must be 'working' or 'calendar'. 须为工作时或自然时。")
    needs_verify = raw.get("needs_verify", defaults.get("needs_verify", True))
    if not isinstance(needs_verify, bool):
        errs.add([*path, "needs_verify"], "Must be true or false. 须为布尔值。")
    if errs.count > before:
        return None
    return make_category(
        code=code,
        kind=cls["kind"],
        class_code=cls["code"],
        class_name=cls["name"],
        class_name_en=cls["name_en"],
        name=name,
        name_en=name_en,
        keywords=[k.strip() for k in keywords if k.strip()],
        department=department,
        limits=limits,
        time_unit=time_unit,
        needs_verify=needs_verify,
    )


def _class_header(raw: Any, errs: _Errors, path: list[str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        errs.add(path, "Must be an object. 须为对象。")
        return None
    kind, code = raw.get("kind"), _text(raw.get("code"))
    if kind not in {k.value for k in CategoryKind}:
        errs.add([*path, "kind"], "Must be 'component' or 'event'. 须为部件或事件。")
        return None
    if code is None or not CLASS_RE.match(code) or not code.startswith(PREFIX[CategoryKind(kind)]):
        prefix = PREFIX[CategoryKind(kind)]
        errs.add([*path, "code"], f"Must be {prefix} plus two digits. 大类编码格式错误。")
        return None
    name = _text(raw.get("name"))
    if name is None:
        errs.add([*path, "name"], "Required. 必填。")
        return None
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        errs.add([*path, "defaults"], "Must be an object. 须为对象。")
        return None
    name_en = raw.get("name_en", "")
    return {"kind": kind, "code": code, "name": name, "name_en": str(name_en), "defaults": defaults}


def parse_catalogue(doc: Any) -> list[Category]:
    """Validate a catalogue document and return its sub-classes sorted by code.

    Raises :class:`InvalidInput` with every problem found (nested by ``classes`` index), so an
    import either succeeds whole or writes nothing. Whether the department codes exist is for
    the server to check against its own table.
    """
    errs = _Errors()
    classes = doc.get("classes") if isinstance(doc, dict) else None
    if not isinstance(classes, list) or not classes:
        raise InvalidInput(errors={"classes": ["A non-empty list is required. 须为非空列表。"]})
    found: dict[str, Category] = {}
    class_codes: set[str] = set()
    for i, raw_cls in enumerate(classes):
        path = ["classes", str(i)]
        cls = _class_header(raw_cls, errs, path)
        subs = raw_cls.get("subclasses") if isinstance(raw_cls, dict) else None
        if cls is None:
            continue
        if cls["code"] in class_codes:
            errs.add([*path, "code"], f"Duplicate class {cls['code']}. 大类编码重复。")
            continue
        class_codes.add(cls["code"])
        if not isinstance(subs, list) or not subs:
            errs.add([*path, "subclasses"], "A non-empty list is required. 须为非空列表。")
            continue
        for j, raw in enumerate(subs):
            sub_path = [*path, "subclasses", str(j)]
            cat = _subclass(raw, cls, cls["defaults"], errs, sub_path)
            if cat is None:
                continue
            if cat.code in found:
                errs.add([*sub_path, "code"], f"Duplicate code {cat.code}. 编码重复。")
            found[cat.code] = cat
    if errs.tree:
        raise InvalidInput(errors=errs.tree)
    return sorted(found.values(), key=lambda c: c.code)


@lru_cache(maxsize=1)
def _default_doc() -> str:
    return DATA_FILE.read_text(encoding="utf-8")


def default_document() -> dict[str, Any]:
    """The bundled catalogue document (a fresh copy each call)."""
    doc: dict[str, Any] = json.loads(_default_doc())
    return doc


@lru_cache(maxsize=1)
def default_catalogue() -> tuple[Category, ...]:
    """The bundled catalogue, parsed once per process."""
    return tuple(parse_catalogue(default_document()))


def rank(category: Category, query: str) -> int | None:
    """How well ``category`` matches ``query``: 0 best … 5, or None for no match."""
    q = query.strip().casefold()
    if not q:
        return None
    name, name_en = category.name.casefold(), category.name_en.casefold()
    if q in (category.code.casefold(), name, name_en):
        return 0
    keywords = [k.casefold() for k in category.keywords]
    if q in keywords:
        return 1
    if q in name or q in name_en or category.code.casefold().startswith(q):
        return 2
    if any(q in k for k in keywords):
        return 3
    if q in category.class_name.casefold() or q in category.class_name_en.casefold():
        return 4
    # A longer phrase a citizen typed that contains a name or keyword (e.g. "路边井盖坏了").
    if any(len(t) >= 2 and t in q for t in category.search_terms):
        return 5
    return None


def search(categories: Iterable[Category], query: str) -> list[Category]:
    """Categories matching ``query`` by name, English name, keyword or code, best first."""
    scored = [(r, c.code, c) for c in categories if (r := rank(c, query)) is not None]
    return [c for _, _, c in sorted(scored, key=lambda t: (t[0], t[1]))]
