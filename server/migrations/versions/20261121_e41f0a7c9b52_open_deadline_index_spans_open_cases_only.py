"""open-deadline index spans open cases only (SQLite)

The queue's deadline-ordered index held every case, ~93% of them closed with no deadline.
SQLite's statistics then priced a deadline range on it as far too large, and a deep page of
the red (overdue) list was answered from another index plus a sort: 60 ms at 1M cases
against 0.1 ms from this index (docs/PERFORMANCE.md, "Console pages"). Every query that
walks it compares step_deadline, which implies the index's condition. PostgreSQL keeps the
whole index: made partial there, its planner chose the smaller ix_cases_open_department plus
a sort for the same pages (4-27 ms at 1M instead of ~2 ms).

Revision ID: e41f0a7c9b52
Revises: d2c8a5e61f07
Create Date: 2026-11-21 17:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e41f0a7c9b52"
down_revision: str | Sequence[str] | None = "d2c8a5e61f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["step_deadline", "id", "step_warn_at"]
OPEN = sa.text("step_deadline IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_open_deadline")
        batch_op.create_index("ix_cases_open_deadline", COLUMNS, sqlite_where=OPEN)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_open_deadline")
        batch_op.create_index("ix_cases_open_deadline", COLUMNS)
