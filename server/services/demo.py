"""The demo city (演示城市): a SYNTHETIC Pingdingshan-like city to try 城管通 with.

Three real district names (新华区, 卫东区, 湛河区) with invented streets' boundaries, communities,
rectangular grid cells that tile without overlap, the departments and catalogue from the data
files, routing rules, and one account of every role with fixed demo logins. Everything is
derived from ``server/data/*.json`` with no randomness, so every load gives the same city;
``DEMO_SEED`` is the seed for anything random layered on top (e.g. demo cases).

Loading is idempotent: a second load finds everything in place and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.catalogue import default_document
from shared_models.enums import Role
from shared_models.geo import wgs84_to_gcj02

from ..models import Department, User
from . import city_import

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_SEED = 20261116
DEMO_PASSWORD = "cgt-demo-2026"
CITIZEN_PHONES = ("13800000001", "13800000002", "13800000003")
MERCHANT_PHONES = ("13900000001", "13900000002", "13900000003")
COMMUNITY_SUFFIX = ("一社区", "二社区")


@dataclass(frozen=True)
class DemoUser:
    role: Role
    login: str  # username for staff, phone for citizens and merchants
    display_name: str
    department: str | None = None
    cells: tuple[str, ...] = ()


@dataclass
class DemoLogins:
    password: str
    users: list[DemoUser] = field(default_factory=list)

    def by_role(self, role: Role) -> list[DemoUser]:
        return [u for u in self.users if u.role is role]

    def text(self) -> str:
        return demo_logins(self)


def load_json(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return doc


def _edges(low: float, high: float, parts: int) -> list[float]:
    return [round(low + (high - low) * k / parts, 6) for k in range(parts + 1)]


@lru_cache(maxsize=1)
def _layout() -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """Areas and grid cells of the demo city, computed from ``demo_city.json``.

    Streets split their district west to east, communities split their street south to
    north, cells split their community into 2 rows; shared edges are the same floats, so
    cells tile without gaps or overlaps.
    """
    areas: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    inspector_no = 0
    for district in load_json("demo_city.json")["districts"]:
        min_lat, min_lon, max_lat, max_lon = district["bbox"]
        areas.append(
            {"code": district["code"], "name": district["name"], "name_en": district["name_en"]}
        )
        street_lons = _edges(min_lon, max_lon, len(district["streets"]))
        for si, street in enumerate(district["streets"]):
            street_code = f"{district['code']}{si + 1:03d}"
            areas.append(
                {"code": street_code, "name": street["name"], "name_en": street["name_en"]}
            )
            community_lats = _edges(min_lat, max_lat, len(street["cells"]))
            for ci, n_cells in enumerate(street["cells"]):
                inspector_no += 1
                code = f"{street_code}{ci + 1:03d}"
                name = street["name"].removesuffix("街道") + COMMUNITY_SUFFIX[ci]
                areas.append({"code": code, "name": name, "name_en": f"Community {code}"})
                rows, cols = 2, n_cells // 2
                lats = _edges(community_lats[ci], community_lats[ci + 1], rows)
                lons = _edges(street_lons[si], street_lons[si + 1], cols)
                for k in range(n_cells):
                    r, c = divmod(k, cols)
                    cells.append(
                        {
                            "code": f"{code}{k + 1:03d}",
                            "name": f"{name}第{k + 1}网格",
                            "bbox": [lats[r], lons[c], lats[r + 1], lons[c + 1]],
                            "inspector": f"inspector{inspector_no}",
                        }
                    )
    return tuple(areas), tuple(cells)


def demo_city_document() -> dict[str, Any]:
    """The demo city in the ``import_city`` shape (also what ``PUT /api/admin/city`` takes)."""
    areas, cells = _layout()
    return {"areas": [dict(a) for a in areas], "grid": [dict(c) for c in cells]}


def cell_center(code: str) -> tuple[float, float]:
    """The WGS-84 centre of a demo grid cell: a point a test or a demo can report from."""
    for cell in _layout()[1]:
        if cell["code"] == code:
            min_lat, min_lon, max_lat, max_lon = cell["bbox"]
            return round((min_lat + max_lat) / 2, 6), round((min_lon + max_lon) / 2, 6)
    raise KeyError(code)


@lru_cache(maxsize=1)
def demo_users() -> tuple[DemoUser, ...]:
    """Every demo account, in a fixed order."""
    users = [
        DemoUser(Role.ADMIN, "admin", "系统管理员（演示）"),
        DemoUser(Role.DISPATCHER, "dispatcher1", "指挥中心派遣员一（演示）"),
        DemoUser(Role.DISPATCHER, "dispatcher2", "指挥中心派遣员二（演示）"),
    ]
    areas, cells = _layout()
    names = {a["code"]: a["name"] for a in areas}
    by_inspector: dict[str, list[str]] = {}
    for cell in cells:
        by_inspector.setdefault(cell["inspector"], []).append(cell["code"])
    for username, codes in by_inspector.items():
        community = names[codes[0][:12]]
        users.append(
            DemoUser(Role.INSPECTOR, username, f"监督员·{community}（演示）", cells=tuple(codes))
        )
    for dept in load_json("departments.json")["departments"]:
        users.append(
            DemoUser(
                Role.HANDLER,
                f"handler_{dept['code'].lower()}",
                f"{dept['name']}处置员（演示）",
                department=dept["code"],
            )
        )
    for i, phone in enumerate(CITIZEN_PHONES, 1):
        users.append(DemoUser(Role.CITIZEN, phone, f"市民{i}（演示）"))
    for i, phone in enumerate(MERCHANT_PHONES, 1):
        users.append(DemoUser(Role.MERCHANT, phone, f"沿街商户{i}（演示）"))
    return tuple(users)


def _ensure_users(s: Session, ph: PasswordHasher, now: datetime) -> None:
    """Create the demo accounts that are missing; existing ones are left as they are."""
    existing = {u.username or u.phone for u in s.scalars(select(User))}
    departments = {d.code: d.id for d in s.scalars(select(Department))}
    password_hash: str | None = None  # one hash for all: argon2 is slow on purpose
    for demo in demo_users():
        if demo.login in existing:
            continue
        staff = demo.role not in (Role.CITIZEN, Role.MERCHANT)
        if staff and password_hash is None:
            password_hash = ph.hash(DEMO_PASSWORD)
        s.add(
            User(
                role=demo.role.value,
                username=demo.login if staff else None,
                phone=None if staff else demo.login,
                display_name=demo.display_name,
                password_hash=password_hash if staff else None,
                department_id=departments.get(demo.department) if demo.department else None,
                active=True,
                created_at=now,
            )
        )
    s.flush()


def load_demo_city(s: Session, hasher: PasswordHasher, now: datetime | None = None) -> DemoLogins:
    """Load (or top up) the demo city in ``s``; the caller commits."""
    city_import.import_departments(s, load_json("departments.json"))
    city_import.import_catalogue(s, default_document())
    _ensure_users(s, hasher, now or datetime.now(UTC))
    city_import.import_city(s, demo_city_document())
    city_import.import_routing_rules(s, load_json("routing_rules.json"))
    return DemoLogins(DEMO_PASSWORD, list(demo_users()))


def demo_logins(logins: DemoLogins | None = None) -> str:
    """Printable sign-in sheet of the demo city, with points to report from."""
    logins = logins or DemoLogins(DEMO_PASSWORD, list(demo_users()))
    lines = [
        "城管通 demo city — SYNTHETIC data (演示数据，非真实)",
        f"Staff password for every staff account: {logins.password}",
        "Citizens and merchants sign in by SMS code (development: printed in the server log).",
        "",
    ]
    for demo in logins.users:
        extra = demo.department or (
            f"grid {demo.cells[0]}…{demo.cells[-1][-3:]}" if demo.cells else ""
        )
        line = f"  {demo.role.value:<10} {demo.login:<22} {demo.display_name} {extra}"
        lines.append(line.rstrip())
    lines += ["", "Points to report from (WGS-84 → GCJ-02 for Amap/Tencent):"]
    for code in ("410402001001001", "410403001001001", "410411001001001"):
        lat, lon = cell_center(code)
        glat, glon = wgs84_to_gcj02(lat, lon)
        lines.append(f"  cell {code}: {lat:.6f},{lon:.6f}  (gcj02 {glat:.6f},{glon:.6f})")
    return "\n".join(lines)
