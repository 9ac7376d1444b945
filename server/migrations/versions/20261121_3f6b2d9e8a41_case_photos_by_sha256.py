"""case photos by sha256: which cases show a photo

Every photo download by anyone but its uploader and the command centre asks whether the
photo is attached to a case the caller may see (services/photos.can_view_photo). The
primary key (case_id, photo_sha256, kind) cannot answer that by photo, so the question
scanned case_photos whole.

Revision ID: 3f6b2d9e8a41
Revises: e41f0a7c9b52
Create Date: 2026-11-21 18:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "3f6b2d9e8a41"
down_revision: str | Sequence[str] | None = "e41f0a7c9b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_case_photos_sha256", "case_photos", ["photo_sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_case_photos_sha256", table_name="case_photos")
