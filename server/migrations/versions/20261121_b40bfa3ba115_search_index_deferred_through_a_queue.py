"""SQLite search index kept through a queue: triggers on cases note the change, a flush indexes

The triggers of migration ``b7e41c9d2a6f`` wrote the FTS5 index inside every statement that
changed a case, and FTS5 writes a segment per statement: it was the most expensive part of
writing a case (docs/PERFORMANCE.md, "Search index through a queue"). Now the triggers only
note, in ``case_search_queue``, what the index holds for each changed row (indexed or not, and
the texts a contentless 'delete' repeats; the first change since the last flush wins), and a
flush (``server.models.search.flush_sqlite``) brings the index up to date in bulk; a search
reads the queue as well as the index, so its answers do not wait for the flush.

The index is up to date when this runs (the old triggers were synchronous): the queue starts
empty. The downgrade flushes the queue into the index, then puts the old triggers back.
Written out here (not imported from server.models.search) so that this migration stays as it
is when the models change. PostgreSQL: nothing (its GIN indexes defer by themselves).

Revision ID: b40bfa3ba115
Revises: 3f6b2d9e8a41
Create Date: 2026-11-21 20:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b40bfa3ba115"
down_revision: str | Sequence[str] | None = "3f6b2d9e8a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "step_deadline IS NOT NULL"
QUEUE = "case_search_queue"
TRIGGERS = ("case_search_insert", "case_search_delete", "case_search_update")


def _doc(row: str) -> str:
    pad = "|| char(1, 1)"
    return f"coalesce({row}.address, '') {pad}, coalesce({row}.description, '') {pad}"


QUEUED = [
    f"""CREATE TABLE {QUEUE} (
  rowid INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL,
  address TEXT,
  description TEXT
)""",
    f"""CREATE TRIGGER case_search_insert AFTER INSERT ON cases
WHEN new.{OPEN} BEGIN
  INSERT INTO {QUEUE}(rowid, indexed)
  SELECT new.rowid, 0 WHERE NOT EXISTS (SELECT 1 FROM {QUEUE} WHERE rowid = new.rowid);
END""",
    f"""CREATE TRIGGER case_search_delete AFTER DELETE ON cases
WHEN old.{OPEN} BEGIN
  INSERT INTO {QUEUE}(rowid, indexed, address, description)
  SELECT old.rowid, 1, old.address, old.description
  WHERE NOT EXISTS (SELECT 1 FROM {QUEUE} WHERE rowid = old.rowid);
END""",
    f"""CREATE TRIGGER case_search_update AFTER UPDATE OF address, description, step_deadline
ON cases
WHEN (old.{OPEN} OR new.{OPEN}) AND ((old.step_deadline IS NULL) != (new.step_deadline IS NULL)
  OR old.address IS NOT new.address OR old.description IS NOT new.description) BEGIN
  INSERT INTO {QUEUE}(rowid, indexed, address, description)
  SELECT old.rowid, old.{OPEN}, old.address, old.description
  WHERE NOT EXISTS (SELECT 1 FROM {QUEUE} WHERE rowid = old.rowid);
END""",
]
FLUSH = [
    "INSERT INTO case_search(case_search, rowid, address, description) "
    f"SELECT 'delete', rowid, {_doc(QUEUE)} FROM {QUEUE} WHERE indexed ORDER BY rowid",
    "INSERT INTO case_search(rowid, address, description) "
    f"SELECT c.rowid, {_doc('c')} FROM {QUEUE} AS q CROSS JOIN cases AS c "
    f"ON c.rowid = q.rowid WHERE c.{OPEN} ORDER BY q.rowid",
    f"DELETE FROM {QUEUE}",
]
# Migration b7e41c9d2a6f's triggers: the index written inside every statement.
SYNCHRONOUS = [
    f"""CREATE TRIGGER case_search_insert AFTER INSERT ON cases
WHEN new.{OPEN} BEGIN
  INSERT INTO case_search(rowid, address, description) VALUES (new.rowid, {_doc("new")});
END""",
    f"""CREATE TRIGGER case_search_delete AFTER DELETE ON cases
WHEN old.{OPEN} BEGIN
  INSERT INTO case_search(case_search, rowid, address, description)
  VALUES ('delete', old.rowid, {_doc("old")});
END""",
    f"""CREATE TRIGGER case_search_update AFTER UPDATE OF address, description, step_deadline
ON cases
WHEN (old.step_deadline IS NULL) != (new.step_deadline IS NULL)
  OR old.address IS NOT new.address OR old.description IS NOT new.description BEGIN
  INSERT INTO case_search(case_search, rowid, address, description)
  SELECT 'delete', old.rowid, {_doc("old")} WHERE old.{OPEN};
  INSERT INTO case_search(rowid, address, description)
  SELECT new.rowid, {_doc("new")} WHERE new.{OPEN};
END""",
]


def _drop_triggers() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_triggers()
    for sql in QUEUED:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_triggers()  # first: nothing may queue while the queue is emptied
    for sql in FLUSH:
        op.execute(sql)
    op.execute(f"DROP TABLE {QUEUE}")
    for sql in SYNCHRONOUS:
        op.execute(sql)
