"""The text-search index of open cases (address and description), one per engine.

The console's and the API's ``q=`` search matches ``LIKE '%q%'`` on the address or the
description of open cases (``step_deadline IS NOT NULL``). A B-tree cannot serve a substring,
so each engine gets a trigram index over the open cases only; ``services.case_search`` uses it
to find the candidates and re-checks every one with the same ``LIKE``, so the results are
exactly those of the plain scan (docs/console.md, "Search").

- **SQLite**: ``case_search``, a contentless FTS5 table with the ``trigram`` tokenizer, keyed
  by ``cases.rowid`` and kept by triggers on ``cases`` (insert, delete, and an update that
  opens, closes or rewrites a case). Every indexed text ends in two ``U+0001`` characters, so
  each character of the real text starts a trigram: a 1- or 2-character query is the prefix
  of the trigrams listed by ``case_search_terms`` (an ``fts5vocab`` table), which is a range
  look-up. Virtual tables and triggers are not models: they are made by the DDL below (on
  ``create_all``) and by migration ``b7e41c9d2a6f``; :func:`schema_filter` keeps them out of
  the model comparison.
- **PostgreSQL**: ``pg_trgm`` GIN indexes on the address and the description of open cases
  (the planner uses them for ``LIKE '%…%'`` of 3 or more characters; Debian's ``C.UTF-8``
  classifies CJK characters as letters, so Chinese is indexed). The extension is created by
  the migration when the database role may (``pg_trgm`` is a trusted extension: the
  database's owner may); otherwise the migration says so and leaves the indexes out. 1- and
  2-character queries use GIN expression indexes of every 1- and 2-character substring
  (``cgt_search_grams``, below), which need no extension.

A migration that rebuilds ``cases`` (Alembic's batch mode on SQLite copies the table) drops
its triggers: it must call the SQL of migration ``b7e41c9d2a6f`` again.
``tests/integration/test_migrations.py`` checks the triggers exist at head.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import DDL, Index, event, text

from ..db import Base
from .cases import Case
from .sync import schema_filter as sync_schema_filter

FTS_TABLE = "case_search"
TERMS_TABLE = "case_search_terms"
# The FTS5 table's shadow tables (contentless: no _content) and the vocabulary table.
SEARCH_TABLES = frozenset(
    {FTS_TABLE, TERMS_TABLE} | {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config")}
)

_OPEN = "step_deadline IS NOT NULL"


def _doc(row: str) -> str:
    # The values indexed for one row (old or new); a contentless 'delete' must repeat them.
    # Each ends in two U+0001: every real character, the last ones too, starts a trigram.
    return (
        f"coalesce({row}.address, '') || char(1, 1), coalesce({row}.description, '') || char(1, 1)"
    )


SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "address, description, content='', tokenize='trigram')",
    f"CREATE VIRTUAL TABLE {TERMS_TABLE} USING fts5vocab({FTS_TABLE}, row)",
    f"""CREATE TRIGGER case_search_insert AFTER INSERT ON cases
WHEN new.{_OPEN} BEGIN
  INSERT INTO {FTS_TABLE}(rowid, address, description) VALUES (new.rowid, {_doc("new")});
END""",
    f"""CREATE TRIGGER case_search_delete AFTER DELETE ON cases
WHEN old.{_OPEN} BEGIN
  INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, address, description)
  VALUES ('delete', old.rowid, {_doc("old")});
END""",
    f"""CREATE TRIGGER case_search_update AFTER UPDATE OF address, description, step_deadline
ON cases
WHEN (old.step_deadline IS NULL) != (new.step_deadline IS NULL)
  OR old.address IS NOT new.address OR old.description IS NOT new.description BEGIN
  INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, address, description)
  SELECT 'delete', old.rowid, {_doc("old")} WHERE old.{_OPEN};
  INSERT INTO {FTS_TABLE}(rowid, address, description)
  SELECT new.rowid, {_doc("new")} WHERE new.{_OPEN};
END""",
]
SQLITE_TRIGGERS = ("case_search_insert", "case_search_delete", "case_search_update")

for _sql in SQLITE_CREATE:
    event.listen(Case.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _name in (*SQLITE_TRIGGERS, TERMS_TABLE, FTS_TABLE):
    _kind = "TRIGGER" if _name in SQLITE_TRIGGERS else "TABLE"
    event.listen(
        Case.__table__,
        "before_drop",
        DDL(f"DROP {_kind} IF EXISTS {_name}").execute_if(dialect="sqlite"),
    )
event.listen(
    Base.metadata,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


# 1- and 2-character queries on PostgreSQL: pg_trgm has no trigram to look them up by, so
# every 1- and 2-character substring of an open case's address and description is in a GIN
# index (an expression index: no column, nothing for the write path to keep).
PG_GRAMS_FUNCTION = """CREATE OR REPLACE FUNCTION cgt_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, n)), '{}'::text[])
  FROM generate_series(1, 2) AS n, generate_series(1, char_length(t) - n + 1) AS i
$$"""
PG_GRAM_INDEXES = {
    "ix_cases_open_address_grams": "address",
    "ix_cases_open_description_grams": "description",
}
event.listen(
    Base.metadata, "before_create", DDL(PG_GRAMS_FUNCTION).execute_if(dialect="postgresql")
)
for _index, _column in PG_GRAM_INDEXES.items():
    event.listen(
        Case.__table__,
        "after_create",
        DDL(
            f"CREATE INDEX {_index} ON cases USING gin (cgt_search_grams({_column})) WHERE {_OPEN}"
        ).execute_if(dialect="postgresql"),
    )


TRGM_INDEX_NAMES: set[str] = set()  # (not sync's POSTGRES_ONLY: its benches drop those)


def _trgm(name: str, column: str) -> Index:
    TRGM_INDEX_NAMES.add(name)
    return Index(
        name,
        getattr(Case, column),
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=text(_OPEN),
    ).ddl_if(dialect="postgresql")


TRGM_INDEXES = (
    _trgm("ix_cases_open_address_trgm", "address"),
    _trgm("ix_cases_open_description_trgm", "description"),
)


def schema_filter(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object``: the sync filter, and the search index's virtual tables
    (made by DDL, not models) left out of the comparison."""
    base = sync_schema_filter(dialect)

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if type_ == "table" and name in SEARCH_TABLES:
            return False
        if type_ == "index" and name in PG_GRAM_INDEXES:
            return False  # expression indexes made by DDL, not models
        if type_ == "index" and name in TRGM_INDEX_NAMES and dialect != "postgresql":
            return False  # made on PostgreSQL only (ddl_if)
        return base(obj, name, type_, reflected, other)

    return include


__all__ = ["FTS_TABLE", "SEARCH_TABLES", "SQLITE_TRIGGERS", "TERMS_TABLE", "schema_filter"]
