"""sync inbox: deferred mutations received, not yet applied

Revision ID: 7e04bc02272f
Revises: a3d5c7e9f1b2
Create Date: 2026-11-21 22:47:34.280102+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e04bc02272f"
down_revision: str | Sequence[str] | None = "a3d5c7e9f1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_inbox",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("base_version", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "seq", name=op.f("pk_sync_inbox")),
    )


def downgrade() -> None:
    op.drop_table("sync_inbox")
