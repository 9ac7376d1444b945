"""sync tables: clients, receipts, device-facing records, the change log and its counter

Revision ID: 0e90458808b0
Revises: a3cbb2a66246
Create Date: 2026-11-21 10:44:53.398135+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0e90458808b0"
down_revision: str | Sequence[str] | None = "a3cbb2a66246"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sync_changes",
        sa.Column("cursor", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("collection", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column(
            "audience",
            postgresql.ARRAY(sa.String(length=64)).with_variant(sa.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "prev_audience",
            postgresql.ARRAY(sa.String(length=64)).with_variant(sa.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cursor", name=op.f("pk_sync_changes")),
    )
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_changes_at"), ["at"], unique=False)

    op.create_table(
        "sync_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_sync_clients")),
    )
    op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_counter")),
    )
    op.create_table(
        "sync_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("min_retained", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_meta")),
    )
    op.create_table(
        "sync_receipts",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("message_zh", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "seq", name=op.f("pk_sync_receipts")),
    )
    with op.batch_alter_table("sync_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_receipts_at"), ["at"], unique=False)

    op.create_table(
        "sync_records",
        sa.Column("collection", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "audience",
            postgresql.ARRAY(sa.String(length=64)).with_variant(sa.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("collection", "id", name=op.f("pk_sync_records")),
    )


def downgrade() -> None:

    op.drop_table("sync_records")
    with op.batch_alter_table("sync_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_receipts_at"))

    op.drop_table("sync_receipts")
    op.drop_table("sync_meta")
    op.drop_table("sync_counter")
    op.drop_table("sync_clients")
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_changes_at"))

    op.drop_table("sync_changes")
