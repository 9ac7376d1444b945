"""Open311 GeoReport v2: the API keys of client apps and what their users told us privately."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class ApiKey(Base):
    """A client application allowed to file requests; only the key's sha256 is stored."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Open311Contact(Base):
    """The submitter's details of one Open311 request: staff-only, never in GET output."""

    __tablename__ = "open311_contacts"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("open311_api_keys.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    first_name: Mapped[str] = mapped_column(String(64), default="")
    last_name: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[str] = mapped_column(String(128), default="")
    account_id: Mapped[str] = mapped_column(String(128), default="")
    # A link the client sent; we never fetch it (it may point anywhere), staff may open it.
    media_url: Mapped[str] = mapped_column(String(1024), default="")
    # attribute[code] answers; the catalogue defines no attributes yet, so kept as given.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
