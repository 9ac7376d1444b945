"""sync publish queue: REST reports published to devices behind the answer

A report through POST /api/cases commits with one row here instead of its device records,
their scope tags and change-log rows; they are written in batches behind it (rule L-2a).

Revision ID: a9099c140d72
Revises: 7e04bc02272f
Create Date: 2026-11-22 04:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9099c140d72"
down_revision: str | Sequence[str] | None = "7e04bc02272f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_publish_queue",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_sync_publish_queue")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sync_publish_queue")
