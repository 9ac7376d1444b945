"""Drop the unused GIN indexes on the sync audience arrays

PostgreSQL only. Since migration 5c0f3e9a7b21 every pull finds a user's rows through the scope
index (sync_change_tags, sync_record_tags); no query of the app filters the audience arrays, so
the three GIN indexes of migration 009110ba4d70 were written on every change and never read
(EXPLAIN of every pull on a generated log of 1,000,000 rows, and pg_stat_user_indexes after a
push and pulls of every role: docs/operations.md, "Sync indexes"). The downgrade builds them
again (a plain CREATE INDEX, which blocks writes to those tables while it runs).

Revision ID: a3d5c7e9f1b2
Revises: b40bfa3ba115
Create Date: 2026-11-21 23:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a3d5c7e9f1b2"
down_revision: str | Sequence[str] | None = "b40bfa3ba115"
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
    for name, table, _ in INDEXES:
        # IF EXISTS: a deployment may have dropped them CONCURRENTLY beforehand
        op.drop_index(name, table_name=table, if_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, column in reversed(INDEXES):
        op.create_index(
            name, table, [column], unique=False, postgresql_using="gin", if_not_exists=True
        )
