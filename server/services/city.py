"""The questions cases ask of the city's map: which grid cell is here (locate), who is
responsible (route), who patrols this cell (grid_inspector); and creating accounts.

Loading the map itself lives in :mod:`server.services.city_import`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from shared_models import catalogue
from shared_models.enums import PHONE_ROLES, Role
from shared_models.errors import InvalidInput

from ..models import Area, Category, Department, GridCell, RoutingRule, User
from . import city_cache
from .auth import check_phone
from .city_cache import CellInfo
from .city_import import KEYWORD_SEPARATOR, Problems

__all__ = ["KEYWORD_SEPARATOR", "create_user", "grid_inspector", "locate", "place_of", "route"]

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8


def category_of(row: Category) -> catalogue.Category:
    """The catalogue view of a stored category (what the API serves and cases use)."""
    return catalogue.make_category(
        code=row.code,
        kind=row.kind,
        class_code=row.class_code,
        class_name=row.class_name,
        class_name_en=row.class_name_en,
        name=row.name,
        name_en=row.name_en,
        keywords=[k for k in row.keywords.split(KEYWORD_SEPARATOR) if k],
        department=row.default_department_code,
        limits=row.limits,
        time_unit=row.time_unit,
        needs_verify=row.needs_verify,
    )


def search_categories(
    s: Session, query: str, kind: str | None = None
) -> list[tuple[int, catalogue.Category]]:
    """Active categories matching ``query`` with their rank (0 best), best first."""
    stmt = select(Category).where(Category.active.is_(True))
    if kind:
        stmt = stmt.where(Category.kind == kind)
    found = [category_of(row) for row in s.scalars(stmt)]
    ranked = [(r, c) for c in found if (r := catalogue.rank(c, query)) is not None]
    return sorted(ranked, key=lambda rc: (rc[0], rc[1].code))


def locate(s: Session, lat: float, lon: float) -> CellInfo | None:
    """The grid cell containing a WGS-84 point, or None outside the city's grid."""
    return city_cache.locate(s, lat, lon)


@dataclass(frozen=True)
class Place:
    """Where a grid cell sits in the area tree (no personal data)."""

    grid_code: str
    grid_name: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    district_code: str
    district_name: str


def place_of(s: Session, cell: CellInfo) -> Place:
    codes = (cell.community_code, cell.community_code[:9], cell.district_code)
    names = {a.code: a.name for a in s.scalars(select(Area).where(Area.code.in_(codes)))}
    return Place(
        cell.code,
        cell.name,
        codes[0],
        names.get(codes[0], ""),
        codes[1],
        names.get(codes[1], ""),
        codes[2],
        names.get(codes[2], ""),
    )


def route(s: Session, category_code: str, grid_code: str | None) -> Department | None:
    """The responsible department: the most specific matching rule, else the category default.

    Specificity is the length of the category prefix first, then of the area prefix, so
    "illegal parking anywhere → traffic police" beats "street order in Xinhua → district".
    """
    rules = s.scalars(
        select(RoutingRule)
        .where(literal(category_code).startswith(RoutingRule.category_prefix, autoescape=False))
        .where(literal(grid_code or "").startswith(RoutingRule.area_prefix, autoescape=False))
        .order_by(
            func.length(RoutingRule.category_prefix).desc(),
            func.length(RoutingRule.area_prefix).desc(),
            RoutingRule.id,
        )
    )
    codes = [r.department_code for r in rules]
    category = s.get(Category, category_code)
    if category is not None and category.default_department_code:
        codes.append(category.default_department_code)
    for code in codes:
        dept = s.scalar(select(Department).where(Department.code == code))
        if dept is not None and dept.active:
            return dept
    return None


def grid_inspector(s: Session, grid_code: str | None) -> int | None:
    """The user id of the inspector who patrols ``grid_code``, if any."""
    if not grid_code:
        return None
    return s.scalar(select(GridCell.inspector_id).where(GridCell.code == grid_code))


def create_user(
    s: Session,
    ph: PasswordHasher,
    now: datetime,
    *,
    role: str,
    display_name: str,
    username: str | None = None,
    password: str | None = None,
    phone: str | None = None,
    department: str | None = None,
) -> User:
    """Create an account: staff sign in with username + password, citizens and merchants by SMS."""
    problems = Problems()
    try:
        role_ = Role(role)
    except ValueError:
        raise InvalidInput(errors={"role": ["Unknown role. 未知角色。"]}) from None
    if role_ in PHONE_ROLES:
        phone = check_phone(phone or "")
        username = password = None
        if s.scalar(select(User.id).where(User.phone == phone)) is not None:
            problems.add("phone", message="Already registered. 该手机号已注册。")
    else:
        if not username or not USERNAME_RE.match(username):
            problems.add("username", message="3-64 letters, digits, _ . -. 用户名格式错误。")
        elif s.scalar(select(User.id).where(User.username == username)) is not None:
            problems.add("username", message="Already taken. 用户名已被使用。")
        if not password or len(password) < MIN_PASSWORD:
            problems.add("password", message=f"At least {MIN_PASSWORD} characters. 密码过短。")
        phone = None
    dept = None
    if department:
        dept = s.scalar(select(Department).where(Department.code == department))
        if dept is None:
            problems.add(
                "department", message=f"Unknown department '{department}'. 未知的责任单位。"
            )
    elif role_ is Role.HANDLER:
        problems.add(
            "department", message="A handler belongs to a department. 处置人员须属于责任单位。"
        )
    problems.raise_if_any()
    user = User(
        role=role_.value,
        username=username,
        phone=phone,
        display_name=display_name.strip() or (username or f"用户{(phone or '')[-4:]}"),
        password_hash=ph.hash(password) if password else None,
        department_id=dept.id if dept else None,
        active=True,
        created_at=now,
    )
    s.add(user)
    s.flush()
    return user
