"""The city's map of responsibility: areas, grid cells, departments, categories, routing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class Area(Base):
    """District (区) → street (街道) → community (社区); codes are prefixes of grid codes."""

    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[str] = mapped_column(String(16))  # district | street | community
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)


class GridCell(Base):
    """A 万米单元网格 with its 15-digit code, shape and patrolling inspector."""

    __tablename__ = "grid_cells"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    community_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    district_code: Mapped[str] = mapped_column(String(15), index=True)
    min_lat: Mapped[float] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    # Optional exact outline as [[lat, lon], ...] (WGS-84); the bbox alone when absent.
    polygon: Mapped[list[Any] | None] = mapped_column(JSON)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    __table_args__ = (Index("ix_grid_cells_bbox", "min_lat", "max_lat", "min_lon", "max_lon"),)


class Department(Base):
    """A responsible unit (责任单位): a bureau department, a street office, a utility."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Category(Base):
    """A catalogue sub-class of components (部件) or events (事件) with its time limits."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    class_code: Mapped[str] = mapped_column(String(16), index=True)
    class_name: Mapped[str] = mapped_column(String(32))
    class_name_en: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96), default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    default_department_code: Mapped[str | None] = mapped_column(String(32))
    # {"verify": h, "register": h, "dispatch": h, "handle": h, "check": h}
    limits: Mapped[dict[str, float]] = mapped_column(JSON)
    time_unit: Mapped[str] = mapped_column(String(16), default="working")
    needs_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoutingRule(Base):
    """Category prefix + area prefix → department; the most specific rule wins."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_prefix: Mapped[str] = mapped_column(String(16), default="")
    area_prefix: Mapped[str] = mapped_column(String(15), default="")
    department_code: Mapped[str] = mapped_column(String(32))


class CityRevision(Base):
    """One row whose token changes with every transaction that changes a category or a grid
    cell, so each process's in-memory copy of them (``server.services.city_cache``) can tell
    with one primary-key read whether it is still current."""

    __tablename__ = "city_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
