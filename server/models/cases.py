"""The case (数字城管案件), its reporters, photos, audit trail and supervision notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # client-generated UUID
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    coord_system: Mapped[str] = mapped_column(String(8), default="wgs84")
    address: Mapped[str] = mapped_column(String(255), default="")
    grid_code: Mapped[str | None] = mapped_column(String(15))
    district_code: Mapped[str | None] = mapped_column(String(15))
    description: Mapped[str] = mapped_column(Text, default="")
    # Not indexed: nothing looks cases up by their first reporter (a person's own cases come
    # from case_reporters), and every report would write the index.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    step: Mapped[str | None] = mapped_column(String(16))
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)

    __mapper_args__ = {"version_id_col": version}
    # Queue views walk these in deadline order (keyset on step_deadline, id); closed cases
    # have no deadline, so every index below only spans open work.
    __table_args__ = (
        # step_warn_at rides along so the yellow light (warn_at ≤ now < deadline) is checked
        # inside the index instead of by reading every green row in deadline order. Partial on
        # SQLite only: with the ~93% closed cases in it, SQLite's statistics priced a deadline
        # range too high and a deep page of the red list was sorted out of another index (60 ms
        # at 1M). PostgreSQL plans it well whole, and partial it preferred the smaller
        # ix_cases_open_department plus a sort (4-27 ms a page at 1M): docs/PERFORMANCE.md.
        Index(
            "ix_cases_open_deadline",
            "step_deadline",
            "id",
            "step_warn_at",
            sqlite_where=text("step_deadline IS NOT NULL"),
        ),
        Index("ix_cases_state_deadline", "state", "step_deadline", "id"),
        # A new report has no unit, no inspector and is merged into nothing: on SQLite these
        # three hold only the cases that have one (every query on them names one, which
        # implies the condition), so filing a report writes three B-trees fewer (~3 WAL
        # pages of its ~46; docs/PERFORMANCE.md, "Case intake").
        Index(
            "ix_cases_dept_deadline",
            "department_id",
            "step_deadline",
            "id",
            sqlite_where=text("department_id IS NOT NULL"),
        ),
        Index("ix_cases_grid_deadline", "grid_code", "step_deadline", "id"),
        Index("ix_cases_cat_deadline", "category_code", "step_deadline", "id"),
        Index(
            "ix_cases_inspector_deadline",
            "inspector_id",
            "step_deadline",
            "id",
            sqlite_where=text("inspector_id IS NOT NULL"),
        ),
        Index(
            "ix_cases_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
        # "Same problem?" (services.cases.near_open_cases): open cases of one category in a
        # box, answered from the index alone.
        Index(
            "ix_cases_open_cat_lat_lon",
            "category_code",
            "lat",
            "lon",
            "created_at",
            "id",
            sqlite_where=text("step_deadline IS NOT NULL"),
            postgresql_where=text("step_deadline IS NOT NULL"),
        ),
        Index("ix_cases_created", "created_at", "id"),
        # Open cases counted per grid cell or per unit with their lights (the console's city
        # map, the indicator charts' map and light mix): answered from these small partial
        # indexes alone, instead of reading every open case's row.
        Index(
            "ix_cases_open_grid",
            "grid_code",
            "step_deadline",
            "step_warn_at",
            sqlite_where=text("step_deadline IS NOT NULL"),
            postgresql_where=text("step_deadline IS NOT NULL"),
        ),
        Index(
            "ix_cases_open_department",
            "department_id",
            "step_deadline",
            "step_warn_at",
            sqlite_where=text("step_deadline IS NOT NULL"),
            postgresql_where=text("step_deadline IS NOT NULL"),
        ),
    )


class CaseReporter(Base):
    """Everyone who reported this problem; merged reports add their reporters here."""

    __tablename__ = "case_reporters"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    via_case_id: Mapped[str | None] = mapped_column(String(36))


class CasePhoto(Base):
    __tablename__ = "case_photos"
    # "which cases show this photo?": every photo download asks it (services/photos.py)
    __table_args__ = (Index("ix_case_photos_sha256", "photo_sha256"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    photo_sha256: Mapped[str] = mapped_column(ForeignKey("photos.sha256"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseEvent(Base):
    """One step in a case's audit trail: who did what, when, with which evidence."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # The step this action completed, its deadline and whether it was met (for indicators).
    step: Mapped[str | None] = mapped_column(String(16))
    step_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        Index("ix_case_events_action_at", "action", "at"),
        # Indicators (server/services/indicators.py): the events of a period, and the steps
        # finished late by the deadline that passed in it (a partial index: late ones only).
        # Both cover what the whole city's figures read, so a month is an index range scan.
        Index("ix_case_events_at", "at", "action", "step", "on_time", "to_state"),
        Index(
            "ix_case_events_late",
            "step_deadline",
            "step",
            "action",
            sqlite_where=text("on_time IS 0"),
            postgresql_where=text("on_time IS false"),
        ),
    )


class Supervision(Base):
    """A 督办 note on an overdue case, which the responsible department must answer."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_supervisions_created_at", "created_at"),)  # 督办 per period
