"""GIN indexes on the sync audience arrays

PostgreSQL only: a pull filters sync_changes and sync_records by `audience && :tags`; on a
large log the GIN indexes find a user's few rows without reading the others
(docs/operations.md, "Sync indexes"). SQLite stores the tags as JSON and gets none.

Revision ID: 009110ba4d70
Revises: 02e30abbf173
Create Date: 2026-11-21 11:23:23.753613+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "009110ba4d70"
down_revision: str | Sequence[str] | None = "02e30abbf173"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INDEXES = [
    ("ix_sync_changes_audience", "sync_changes", "audience"),
    ("ix_sync_changes_prev_audience", "sync_changes", "prev_audience"),
    ("ix_sync_records_audience", "sync_records", "audience"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, column in INDEXES:
        # IF NOT EXISTS: a large deployment may have built them CONCURRENTLY beforehand
        op.create_index(
            name, table, [column], unique=False, postgresql_using="gin", if_not_exists=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
