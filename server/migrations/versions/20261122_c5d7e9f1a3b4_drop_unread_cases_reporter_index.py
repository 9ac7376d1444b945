"""drop ix_cases_reporter_id: no query reads it, every report wrote it

No statement filters or sorts cases by ``reporter_id``: a person's own cases are found
through ``case_reporters`` (every reporter of a case, merged ones too), and the inspector
indicators group by an expression over it, which no index serves. Users are deactivated,
never deleted, so no foreign-key check looks cases up by it either. Each new report still
wrote a page of it (one B-tree of the ~27 a report touches). Plain DROP INDEX on both engines.

Revision ID: c5d7e9f1a3b4
Revises: b3f1d2c4e5a6
Create Date: 2026-11-22 08:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "c5d7e9f1a3b4"
down_revision: str | Sequence[str] | None = "b3f1d2c4e5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_cases_reporter_id", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_reporter_id", "cases", ["reporter_id"])
