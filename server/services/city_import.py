"""Imports of the city's map of responsibility: catalogue, departments, areas, grid, routing.

They take the same JSON documents as the files in ``shared_models/data`` and
``server/data`` (see docs/city-data.md). Each validates the whole document first and raises
:class:`InvalidInput` with field errors before writing anything; importing the same document
twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.catalogue import parse_catalogue
from shared_models.errors import InvalidInput
from shared_models.geo import valid_lat_lon

from ..models import Area, Category, Department, GridCell, RoutingRule, User

DEPARTMENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
LEVEL_BY_LENGTH = {6: "district", 9: "street", 12: "community"}
GRID_CODE_LENGTH = 15
KEYWORD_SEPARATOR = "|"  # keywords may contain spaces ("manhole cover")
M = TypeVar("M")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # deactivated (catalogue, departments) or deleted (routing rules)


def as_dict(result: dict[str, Counts]) -> dict[str, dict[str, int]]:
    return {name: asdict(counts) for name, counts in result.items()}


class Problems:
    """Field errors of one document, keyed ``{list: {index: {field: [messages]}}}``."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, *path: str | int, message: str) -> None:
        node = self.tree
        *parents, leaf = [str(p) for p in path]
        for key in parents:
            node = node.setdefault(key, {})
        messages = node.setdefault(leaf, [])
        if isinstance(messages, dict):  # the row has field errors too: its own go under _schema
            messages = messages.setdefault("_schema", [])
        messages.append(message)

    def raise_if_any(self, code: str | None = None, **params: Any) -> None:
        if self.tree:
            raise InvalidInput(code, errors=self.tree, **params)


def _items(doc: Any, key: str) -> list[Any]:
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(errors={key: ["A list is required. 须为列表。"]})
    return items


def _text(raw: dict[str, Any], key: str, problems: Problems, *path: str | int) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.add(*path, key, message="Required text. 必填文本。")
        return ""
    return value.strip()


def _optional_text(raw: dict[str, Any], key: str, problems: Problems, *path: str | int) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        problems.add(*path, key, message="Must be text. 须为文本。")
        return ""
    return value.strip()


def _upsert(
    s: Session, model: type[M], key: str, rows: Iterable[dict[str, Any]], existing: dict[str, M]
) -> Counts:
    """Create or update ``rows`` (dicts of column values) keyed by ``key``; count the changes."""
    counts = Counts()
    for values in rows:
        obj = existing.get(values[key])
        if obj is None:
            s.add(model(**values))
            counts.created += 1
        elif any(getattr(obj, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(obj, k, v)
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def _deactivate_missing(existing: Iterable[Any], keep: set[str]) -> int:
    removed = 0
    for obj in existing:
        if obj.code not in keep and obj.active:
            obj.active = False
            removed += 1
    return removed


def import_departments(s: Session, doc: Any) -> dict[str, Counts]:
    """Upsert the departments (责任单位); those missing from the document are deactivated."""
    problems, rows, seen = Problems(), [], set()
    for i, raw in enumerate(_items(doc, "departments")):
        if not isinstance(raw, dict):
            problems.add("departments", i, message="Must be an object. 须为对象。")
            continue
        code = _text(raw, "code", problems, "departments", i)
        name = _text(raw, "name", problems, "departments", i)
        if code and not DEPARTMENT_RE.match(code):
            problems.add(
                "departments", i, "code", message="Letters, digits, _ . - only. 编码格式错误。"
            )
        if code in seen:
            problems.add("departments", i, "code", message="Duplicate code. 编码重复。")
        active = raw.get("active", True)
        if not isinstance(active, bool):
            problems.add("departments", i, "active", message="Must be true or false. 须为布尔值。")
        seen.add(code)
        name_en = _optional_text(raw, "name_en", problems, "departments", i)
        rows.append({"code": code, "name": name, "name_en": name_en, "active": active})
    problems.raise_if_any()
    existing = {d.code: d for d in s.scalars(select(Department))}
    counts = _upsert(s, Department, "code", rows, existing)
    counts.removed = _deactivate_missing(existing.values(), seen)
    s.flush()
    return {"departments": counts}


def department_codes(s: Session) -> set[str]:
    return set(s.scalars(select(Department.code).where(Department.active.is_(True))))


def import_catalogue(s: Session, doc: Any) -> dict[str, Counts]:
    """Upsert the category catalogue; sub-classes missing from the document are deactivated."""
    categories = parse_catalogue(doc)
    known = department_codes(s)
    problems = Problems()
    unknown = sorted({c.department for c in categories if c.department} - known)
    for c in categories:
        if c.department and c.department not in known:
            msg = f"Unknown department '{c.department}'. 未知的责任单位“{c.department}”。"
            problems.add("categories", c.code, "department", message=msg)
    problems.raise_if_any("unknown_department", department=", ".join(unknown))
    rows = []
    for c in categories:
        flat = c.to_dict()
        rows.append(
            {
                **{k: flat[k] for k in ("code", "kind", "class_code", "class_name")},
                **{k: flat[k] for k in ("class_name_en", "name", "name_en", "limits")},
                "keywords": KEYWORD_SEPARATOR.join(c.keywords),
                "default_department_code": c.department,
                "time_unit": flat["time_unit"],
                "needs_verify": c.needs_verify,
                "active": True,
            }
        )
    existing = {c.code: c for c in s.scalars(select(Category))}
    counts = _upsert(s, Category, "code", rows, existing)
    counts.removed = _deactivate_missing(existing.values(), {c.code for c in categories})
    s.flush()
    return {"categories": counts}


def _point(value: Any) -> tuple[float, float] | None:
    """A valid WGS-84 ``[lat, lon]`` pair, or None."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
        return None
    lat, lon = float(value[0]), float(value[1])
    return (lat, lon) if valid_lat_lon(lat, lon) else None


def _shape(raw: dict[str, Any], problems: Problems, i: int) -> dict[str, Any]:
    """The bbox and optional polygon of a grid cell (bbox derived from the polygon if absent)."""
    ring: list[tuple[float, float]] = []
    if raw.get("polygon") is not None:
        points = raw["polygon"] if isinstance(raw["polygon"], list) else []
        ring = [p for p in map(_point, points) if p is not None]
        if len(ring) < 3 or len(ring) != len(points):
            problems.add(
                "grid", i, "polygon", message="3+ [lat, lon] points. 须为至少3个有效坐标点。"
            )
            return {}
    bbox = raw.get("bbox")
    if bbox is None and ring:
        lats, lons = [p[0] for p in ring], [p[1] for p in ring]
        bbox = [min(lats), min(lons), max(lats), max(lons)]
    low = _point(bbox[:2]) if isinstance(bbox, list) and len(bbox) == 4 else None
    high = _point(bbox[2:]) if isinstance(bbox, list) and len(bbox) == 4 else None
    if low is None or high is None or not (low[0] < high[0] and low[1] < high[1]):
        msg = "[min_lat, min_lon, max_lat, max_lon] in range. 网格范围无效。"
        problems.add("grid", i, "bbox", message=msg)
        return {}
    return {
        "min_lat": low[0],
        "min_lon": low[1],
        "max_lat": high[0],
        "max_lon": high[1],
        "polygon": [list(p) for p in ring] or None,
    }


def _area_rows(s: Session, items: list[Any], problems: Problems) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    codes = {r["code"] for r in items if isinstance(r, dict) and isinstance(r.get("code"), str)}
    known = codes | set(s.scalars(select(Area.code)))
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            problems.add("areas", i, message="Must be an object. 须为对象。")
            continue
        code, name = (
            _text(raw, "code", problems, "areas", i),
            _text(raw, "name", problems, "areas", i),
        )
        level = LEVEL_BY_LENGTH.get(len(code)) if code.isdigit() else None
        if code and level is None:
            problems.add("areas", i, "code", message="6, 9 or 12 digits. 须为6、9或12位数字。")
            continue
        parent = code[: {"district": 0, "street": 6, "community": 9}[level]] if level else ""
        if raw.get("level", level) != level:
            problems.add(
                "areas", i, "level", message=f"A code of this length is a {level}. 层级不符。"
            )
        if raw.get("parent", parent or None) != (parent or None):
            problems.add(
                "areas", i, "parent", message=f"Must be {parent or 'null'}. 上级编码不符。"
            )
        if parent and parent not in known:
            problems.add("areas", i, "parent", message=f"Unknown area {parent}. 上级区域不存在。")
        if sum(1 for r in items if isinstance(r, dict) and r.get("code") == code) > 1:
            problems.add("areas", i, "code", message="Duplicate code. 编码重复。")
        rows.append(
            {
                "code": code,
                "name": name,
                "name_en": _optional_text(raw, "name_en", problems, "areas", i),
                "level": level,
                "parent_code": parent or None,
            }
        )
    return rows


def _grid_rows(
    s: Session, items: list[Any], areas: set[str], problems: Problems
) -> list[dict[str, Any]]:
    usernames = {
        r["inspector"] for r in items if isinstance(r, dict) and isinstance(r.get("inspector"), str)
    }
    inspectors = {
        u.username: u
        for u in s.scalars(select(User).where(User.username.in_(usernames)))
        if u.username
    }
    rows, seen = [], set()
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            problems.add("grid", i, message="Must be an object. 须为对象。")
            continue
        code, name = (
            _text(raw, "code", problems, "grid", i),
            _text(raw, "name", problems, "grid", i),
        )
        if code and not (code.isdigit() and len(code) == GRID_CODE_LENGTH):
            problems.add("grid", i, "code", message="15 digits. 须为15位数字。")
            continue
        if code in seen:
            problems.add("grid", i, "code", message="Duplicate code. 编码重复。")
        seen.add(code)
        community = code[:12]
        if raw.get("community", community) != community or community not in areas:
            problems.add(
                "grid", i, "community", message=f"Unknown community {community}. 社区不存在。"
            )
        shape = _shape(raw, problems, i)
        row: dict[str, Any] = {
            "code": code,
            "name": name,
            "community_code": community,
            "district_code": code[:6],
            **shape,
        }
        if "inspector" in raw:
            username = raw["inspector"]
            user = inspectors.get(username) if isinstance(username, str) else None
            if username is not None and (user is None or user.role != "inspector"):
                problems.add("grid", i, "inspector", message="Not an inspector. 不是监督员账号。")
            row["inspector_id"] = user.id if user else None
        rows.append(row)
    return rows


def import_city(s: Session, doc: Any) -> dict[str, Counts]:
    """Upsert areas (district → street → community) and grid cells (单元网格).

    A grid entry may name its inspector by username; without the key the assignment is kept.
    Nothing is deleted: old cases keep pointing at the cells they were filed in.
    """
    problems = Problems()
    area_items = _items(doc, "areas") if isinstance(doc, dict) and "areas" in doc else []
    grid_items = _items(doc, "grid") if isinstance(doc, dict) and "grid" in doc else []
    if not isinstance(doc, dict) or not ({"areas", "grid"} & set(doc)):
        raise InvalidInput(errors={"areas": ["Give areas and/or grid. 须提供区域或网格。"]})
    area_rows = _area_rows(s, area_items, problems)
    communities = {r["code"] for r in area_rows if r["level"] == "community"}
    communities |= set(s.scalars(select(Area.code).where(Area.level == "community")))
    grid_rows = _grid_rows(s, grid_items, communities, problems)
    problems.raise_if_any()
    area_rows.sort(key=lambda r: len(r["code"]))  # parents before children
    existing_areas = {a.code: a for a in s.scalars(select(Area))}
    areas = _upsert(s, Area, "code", area_rows, existing_areas)
    s.flush()
    existing_cells = {c.code: c for c in s.scalars(select(GridCell))}
    grid = _upsert(s, GridCell, "code", grid_rows, existing_cells)
    s.flush()
    return {"areas": areas, "grid": grid}


def import_routing_rules(s: Session, doc: Any) -> dict[str, Counts]:
    """Replace the routing rules with the document's (rules missing from it are deleted)."""
    problems, wanted = Problems(), {}
    known = department_codes(s)
    category_codes = list(s.scalars(select(Category.code).where(Category.active.is_(True))))
    for i, raw in enumerate(_items(doc, "rules")):
        if not isinstance(raw, dict):
            problems.add("rules", i, message="Must be an object. 须为对象。")
            continue
        cat, area, dept = (raw.get(k, "") for k in ("category_prefix", "area_prefix", "department"))
        if not isinstance(cat, str) or not any(c.startswith(cat) for c in category_codes):
            problems.add("rules", i, "category_prefix", message="Matches no category. 无匹配类别。")
        if not isinstance(area, str) or not re.fullmatch(r"\d{0,15}", area):
            problems.add("rules", i, "area_prefix", message="Up to 15 digits. 须为至多15位数字。")
        if not isinstance(dept, str) or dept not in known:
            problems.add(
                "rules", i, "department", message=f"Unknown department '{dept}'. 未知的责任单位。"
            )
        if not (isinstance(cat, str) and isinstance(area, str)):
            continue  # reported above; a list or object cannot be a rule's key
        if (cat, area) in wanted:
            problems.add("rules", i, message="Duplicate rule. 规则重复。")
        wanted[(cat, area)] = dept
    problems.raise_if_any()
    counts = Counts()
    for rule in s.scalars(select(RoutingRule)):
        dept = wanted.pop((rule.category_prefix, rule.area_prefix), None)
        if dept is None:
            s.delete(rule)
            counts.removed += 1
        elif dept != rule.department_code:
            rule.department_code = dept
            counts.updated += 1
        else:
            counts.unchanged += 1
    for (cat, area), dept in wanted.items():
        s.add(RoutingRule(category_prefix=cat, area_prefix=area, department_code=dept))
        counts.created += 1
    s.flush()
    return {"rules": counts}
