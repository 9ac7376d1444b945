"""The office's monthly assessment inputs (月度考核): the parts it enters, bonus and penalty
items, and the bulletin frozen when it is published. Scores are integer hundredths."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class AssessmentMonth(Base):
    """One month's assessment: a draft the office fills in, then the published bulletin."""

    __tablename__ = "assessment_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    status: Mapped[str] = mapped_column(String(16))  # draft | published
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The whole bulletin as published (parts, indicators, totals, ranks): it never changes
    # afterwards, whatever happens to the cases or the rules.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AssessmentScore(Base):
    """The parts of a unit's monthly score that the office enters (0–100, in hundredths)."""

    __tablename__ = "assessment_scores"

    month: Mapped[str] = mapped_column(ForeignKey("assessment_months.month"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    special: Mapped[int | None] = mapped_column(Integer)  # 专项整治
    zongzhi: Mapped[int | None] = mapped_column(Integer)  # 综治平安建设
    wenming: Mapped[int | None] = mapped_column(Integer)  # 县文明办
    chengguan: Mapped[int | None] = mapped_column(Integer)  # 县城管办
    chuangyuan: Mapped[int | None] = mapped_column(Integer)  # 县创园工作
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssessmentAdjustment(Base):
    """A bonus or penalty item (加分/减分) with its reason, as the rules list them."""

    __tablename__ = "assessment_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(ForeignKey("assessment_months.month"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    rule: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
