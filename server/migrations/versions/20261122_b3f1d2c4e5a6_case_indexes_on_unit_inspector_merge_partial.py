"""case indexes on unit, inspector and merge hold only cases that have one (SQLite)

A new report has no unit, no inspector and is merged into nothing, yet it was written into
ix_cases_dept_deadline, ix_cases_inspector_deadline and ix_cases_merged_into_id under NULL:
three B-trees, ~3 WAL pages of the ~46 a report wrote. Every query on them names a unit,
an inspector or a case (``= ?`` implies ``IS NOT NULL``), so the partial indexes answer
them all. SQLite only: plain DROP INDEX / CREATE INDEX, the table is not rebuilt (its
search triggers stay). PostgreSQL keeps its whole indexes and its tested plans.

Revision ID: b3f1d2c4e5a6
Revises: a9099c140d72
Create Date: 2026-11-22 05:05:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3f1d2c4e5a6"
down_revision: str | Sequence[str] | None = "a9099c140d72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_cases_dept_deadline": (["department_id", "step_deadline", "id"], "department_id"),
    "ix_cases_inspector_deadline": (["inspector_id", "step_deadline", "id"], "inspector_id"),
    "ix_cases_merged_into_id": (["merged_into_id"], "merged_into_id"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, (columns, key) in INDEXES.items():
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", columns, sqlite_where=sa.text(f"{key} IS NOT NULL"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, (columns, _key) in INDEXES.items():
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", columns)
