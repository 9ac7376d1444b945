"""text-search index of open cases: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL

Revision ID: b7e41c9d2a6f
Revises: c873d9ca50a0
Create Date: 2026-11-21 15:00:00+00:00

SQLite: a contentless FTS5 ``trigram`` table of the open cases' address and description
(each text followed by two U+0001, so 1- and 2-character queries are trigram prefixes), an
``fts5vocab`` table over it, and the triggers on ``cases`` that keep it; filled from the open
cases already there. Written out here (not imported from server.models.search) so that this
migration stays as it is when the models change; a later migration that rebuilds ``cases``
in batch mode must run ``SQLITE_CREATE``'s triggers and the fill again.

PostgreSQL: ``CREATE EXTENSION pg_trgm`` (a trusted extension: the database's owner may
create it) and two partial GIN indexes for 3+ characters; for 1 and 2 characters the function
``cgt_search_grams`` and two partial GIN expression indexes of every 1- and 2-character
substring (core PostgreSQL: made whether or not pg_trgm can be). When the role may not create
the extension, the migration warns and leaves the trigram indexes out: search still works, a
3+ character one by reading the open cases in deadline order;
a superuser can run ``CREATE EXTENSION pg_trgm`` and then
``flask --app server cgt db-downgrade --revision c873d9ca50a0`` and ``cgt db-upgrade``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e41c9d2a6f"
down_revision: str | Sequence[str] | None = "c873d9ca50a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

OPEN = "step_deadline IS NOT NULL"


def _doc(row: str) -> str:
    pad = "|| char(1, 1)"
    return f"coalesce({row}.address, '') {pad}, coalesce({row}.description, '') {pad}"


SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE case_search USING fts5("
    "address, description, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE case_search_terms USING fts5vocab(case_search, row)",
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
    "INSERT INTO case_search(rowid, address, description) "
    f"SELECT rowid, {_doc('cases')} FROM cases WHERE {OPEN}",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS case_search_update",
    "DROP TRIGGER IF EXISTS case_search_delete",
    "DROP TRIGGER IF EXISTS case_search_insert",
    "DROP TABLE IF EXISTS case_search_terms",
    "DROP TABLE IF EXISTS case_search",
]
PG_GRAMS_FUNCTION = """CREATE OR REPLACE FUNCTION cgt_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, n)), '{}'::text[])
  FROM generate_series(1, 2) AS n, generate_series(1, char_length(t) - n + 1) AS i
$$"""
PG_GRAM_INDEXES = {
    "ix_cases_open_address_grams": "address",
    "ix_cases_open_description_grams": "description",
}
PG_INDEXES = {
    "ix_cases_open_address_trgm": "address",
    "ix_cases_open_description_trgm": "description",
}


def _pg_trgm(bind: sa.Connection) -> bool:
    """Create pg_trgm if this role may; True when it is there."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as e:
        log.warning(
            "pg_trgm could not be created (%s): the text search of open cases stays "
            "unindexed; see docs/console.md, 'Search'",
            str(e.orig).strip(),
        )
    found = bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    return found.first() is not None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for sql in SQLITE_CREATE:
            op.execute(sql)
        return
    # 1- and 2-character queries: GIN indexes of every 1- and 2-character substring.
    op.execute(PG_GRAMS_FUNCTION)
    for name, column in PG_GRAM_INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON cases USING gin (cgt_search_grams({column})) WHERE {OPEN}"
        )
    if not _pg_trgm(bind):
        return
    for name, column in PG_INDEXES.items():
        op.create_index(
            name,
            "cases",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    # The extension stays: other databases objects may use it, and dropping it is the DBA's.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for sql in SQLITE_DROP:
            op.execute(sql)
        return
    for name in (*PG_INDEXES, *PG_GRAM_INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS cgt_search_grams(text)")
