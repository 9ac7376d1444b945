"""Photos, identified by the sha256 of their bytes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class Photo(Base):
    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    had_gps: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PhotoUpload(Base):
    """A resumable upload in progress (docs/photos.md, "Resumable upload").

    One per uploader and sha256: nobody else can see or extend it. The bytes received so far
    are in ``PHOTO_DIR/partial/<uploader_id>/<sha256>``; ``received`` is the authority (a
    chunk counts once its bytes are fsynced and this row committed), so bytes a crash left
    past it are cut off on the next chunk.
    """

    __tablename__ = "photo_uploads"

    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # declared when the upload began
    received: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
