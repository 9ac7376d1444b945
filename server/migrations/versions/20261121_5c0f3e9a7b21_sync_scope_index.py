"""sync scope index: (tag, cursor) for the change log, (tag, collection, id) for records

Revision ID: 5c0f3e9a7b21
Revises: c6d6d68909d8
Create Date: 2026-11-21 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0f3e9a7b21"
down_revision: str | Sequence[str] | None = "c6d6d68909d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = {
    "sqlite": (
        "INSERT INTO sync_change_tags (tag, cursor, collection, origin) "
        "SELECT j.value, c.cursor, c.collection, c.origin FROM sync_changes c, "
        "json_each(c.audience) j UNION SELECT j.value, c.cursor, c.collection, c.origin "
        "FROM sync_changes c, json_each(c.prev_audience) j",
        "INSERT INTO sync_record_tags (tag, collection, id) "
        "SELECT DISTINCT j.value, r.collection, r.id FROM sync_records r, "
        "json_each(r.audience) j WHERE NOT r.deleted",
    ),
    "postgresql": (
        "INSERT INTO sync_change_tags (tag, cursor, collection, origin) "
        "SELECT DISTINCT t, c.cursor, c.collection, c.origin FROM sync_changes c, "
        "unnest(c.audience || c.prev_audience) AS t",
        "INSERT INTO sync_record_tags (tag, collection, id) "
        "SELECT DISTINCT t, r.collection, r.id FROM sync_records r, unnest(r.audience) AS t "
        "WHERE NOT r.deleted",
    ),
}


def upgrade() -> None:
    op.create_table(
        "sync_change_tags",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("collection", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("tag", "cursor", name=op.f("pk_sync_change_tags")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sync_record_tags",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("collection", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("tag", "collection", "id", name=op.f("pk_sync_record_tags")),
        sqlite_with_rowid=False,
    )
    for statement in _BACKFILL[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("sync_record_tags")
    op.drop_table("sync_change_tags")
