"""The text-search index of open cases (address and description), one per engine.

The console's and the API's ``q=`` search matches ``LIKE '%q%'`` on the address or the
description of open cases (``step_deadline IS NOT NULL``). A B-tree cannot serve a substring,
so each engine gets a trigram index over the open cases only; ``services.case_search`` uses it
to find the candidates and re-checks every one with the same ``LIKE``, so the results are
exactly those of the plain scan (docs/console.md, "Search").

- **SQLite**: ``case_search``, a contentless FTS5 table with the ``trigram`` tokenizer, keyed
  by ``cases.rowid``. Every indexed text ends in two ``U+0001`` characters, so each character
  of the real text starts a trigram: a 1- or 2-character query is the prefix of the trigrams
  listed by ``case_search_terms`` (an ``fts5vocab`` table), which is a range look-up. The
  index is **kept through a queue**: triggers on ``cases`` (insert, delete, and an update
  that opens, closes or rewrites a case) write only ``case_search_queue`` — per changed row,
  what the index holds for it (indexed or not, and the old texts a contentless 'delete' must
  repeat), the first change since the last flush winning — and
  :func:`flush_sqlite` brings the index up to date in bulk, in one write transaction. FTS5
  writes a segment per statement (and so per row inside a trigger): indexing in bulk costs a
  few µs a row instead of ~100 (docs/PERFORMANCE.md, "Search index through a queue"). The
  server's maintenance thread flushes (``server.db.WalCheckpointer``; without it the app
  flushes every ``Database.INLINE_EVERY`` commits), and so do ``cgt load-demo``,
  ``cgt sync-prune`` and the benches' loaders (:func:`flush`). A search reads the queue as
  well as the index (``services.case_search``), so its answers never wait for a flush. For a
  row not in the queue, the index holds exactly its texts if it is open, nothing otherwise.
  Virtual tables, the queue and the triggers are not models: they are made by the DDL below
  (on ``create_all``) and by migrations ``b7e41c9d2a6f`` and ``b40bfa3ba115``;
  :func:`schema_filter` keeps them out of the model comparison.
- **PostgreSQL**: ``pg_trgm`` GIN indexes on the address and the description of open cases
  (the planner uses them for ``LIKE '%…%'`` of 3 or more characters; Debian's ``C.UTF-8``
  classifies CJK characters as letters, so Chinese is indexed). The extension is created by
  the migration when the database role may (``pg_trgm`` is a trusted extension: the
  database's owner may); otherwise the migration says so and leaves the indexes out. 1- and
  2-character queries use GIN expression indexes of every 1- and 2-character substring
  (``cgt_search_grams``, below), which need no extension.

A migration that rebuilds ``cases`` (Alembic's batch mode on SQLite copies the table) drops
its triggers and may renumber its rowids: it must create the triggers of migration
``b40bfa3ba115`` again, empty the queue and rebuild the index (``'delete-all'``, then the fill
of migration ``b7e41c9d2a6f``). ``tests/integration/test_migrations.py`` checks the triggers
exist at head and that ``create_all`` makes the same search objects as the migrations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import DDL, Engine, Index, event, text

from ..db import Base, sqlite_call
from .cases import Case

FTS_TABLE = "case_search"
TERMS_TABLE = "case_search_terms"
QUEUE_TABLE = "case_search_queue"
# The FTS5 table's shadow tables (contentless: no _content), the vocabulary table, the queue.
SEARCH_TABLES = frozenset(
    {FTS_TABLE, TERMS_TABLE, QUEUE_TABLE}
    | {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config")}
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
    # Per case row changed since the last flush: what the index holds for it (indexed or not,
    # and the texts a contentless 'delete' must repeat). The first change since the flush
    # wins: later ones leave the index's state as it was. (NOT EXISTS, not INSERT OR IGNORE:
    # a statement's own OR clause, as in UPDATE OR REPLACE cases, overrides its triggers'.)
    f"""CREATE TABLE {QUEUE_TABLE} (
  rowid INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL,
  address TEXT,
  description TEXT
)""",
    f"""CREATE TRIGGER case_search_insert AFTER INSERT ON cases
WHEN new.{_OPEN} BEGIN
  INSERT INTO {QUEUE_TABLE}(rowid, indexed)
  SELECT new.rowid, 0 WHERE NOT EXISTS (SELECT 1 FROM {QUEUE_TABLE} WHERE rowid = new.rowid);
END""",
    f"""CREATE TRIGGER case_search_delete AFTER DELETE ON cases
WHEN old.{_OPEN} BEGIN
  INSERT INTO {QUEUE_TABLE}(rowid, indexed, address, description)
  SELECT old.rowid, 1, old.address, old.description
  WHERE NOT EXISTS (SELECT 1 FROM {QUEUE_TABLE} WHERE rowid = old.rowid);
END""",
    f"""CREATE TRIGGER case_search_update AFTER UPDATE OF address, description, step_deadline
ON cases
WHEN (old.{_OPEN} OR new.{_OPEN}) AND ((old.step_deadline IS NULL) != (new.step_deadline IS NULL)
  OR old.address IS NOT new.address OR old.description IS NOT new.description) BEGIN
  INSERT INTO {QUEUE_TABLE}(rowid, indexed, address, description)
  SELECT old.rowid, old.{_OPEN}, old.address, old.description
  WHERE NOT EXISTS (SELECT 1 FROM {QUEUE_TABLE} WHERE rowid = old.rowid);
END""",
]
SQLITE_TRIGGERS = ("case_search_insert", "case_search_delete", "case_search_update")

# The flush: one write transaction (flush_sqlite) brings the index up to date with the queue.
# Queue order is rowid order, which FTS5 writes without flushing a segment per row.
SQLITE_FLUSH = [
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, address, description) "
    f"SELECT 'delete', rowid, {_doc(QUEUE_TABLE)} FROM {QUEUE_TABLE} WHERE indexed "
    "ORDER BY rowid",
    f"INSERT INTO {FTS_TABLE}(rowid, address, description) "
    f"SELECT c.rowid, {_doc('c')} FROM {QUEUE_TABLE} AS q CROSS JOIN cases AS c "
    f"ON c.rowid = q.rowid WHERE c.{_OPEN} ORDER BY q.rowid",
    f"DELETE FROM {QUEUE_TABLE}",
]


# While the app is busy, the maintenance thread flushes once this many rows are queued: a
# flush holds the write lock, and a request that meets it sleeps in SQLite's busy handler
# (1 ms and more); the queue, read by every search, stays a few hundred rows at most.
BUSY_FLUSH_ROWS = 200


def flush_sqlite(conn: sqlite3.Connection, at_least: int = 1) -> int:
    """Bring the SQLite search index up to date with its queue, in one write transaction,
    when ``at_least`` rows are queued; the number of queued rows it handled. ``conn``: a
    ``sqlite3`` connection outside any transaction (its own, or a pool's). Idempotent, and
    safe from any thread or process: ``BEGIN IMMEDIATE`` takes the database's write lock
    before the queue is read, so two flushes run one after the other and the second finds
    what the first left."""
    if conn.execute(f"SELECT count(*) FROM {QUEUE_TABLE}").fetchone()[0] < max(at_least, 1):
        return 0  # not enough queued: no write lock taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        queued = int(conn.execute(f"SELECT count(*) FROM {QUEUE_TABLE}").fetchone()[0])
        for sql in SQLITE_FLUSH:
            conn.execute(sql)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return queued


def maintain(conn: sqlite3.Connection, busy: bool) -> int:
    """The maintenance task (``server.db.WalCheckpointer``): flush, while the app is busy
    only once ``BUSY_FLUSH_ROWS`` rows are queued."""
    return flush_sqlite(conn, BUSY_FLUSH_ROWS if busy else 1)


def flush(engine: Engine) -> int:
    """:func:`flush_sqlite` on a connection of ``engine``'s pool (0 on other engines): for
    the CLI commands and the benches' loaders, which write many cases at once."""
    return sqlite_call(engine, flush_sqlite) if engine.dialect.name == "sqlite" else 0


for _sql in SQLITE_CREATE:
    event.listen(Case.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _name in (*SQLITE_TRIGGERS, QUEUE_TABLE, TERMS_TABLE, FTS_TABLE):
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


TRGM_INDEX_NAMES: set[str] = set()


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
    """Alembic's ``include_object``: the search index's virtual tables and expression indexes
    (made by DDL, not models) left out of the comparison, and its trigram indexes compared on
    PostgreSQL only (autogenerate does not read ``ddl_if``)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if type_ == "table" and name in SEARCH_TABLES:
            return False
        if type_ == "index" and name in PG_GRAM_INDEXES:
            return False  # expression indexes made by DDL, not models
        if type_ == "index" and name in TRGM_INDEX_NAMES and dialect != "postgresql":
            return False  # made on PostgreSQL only (ddl_if)
        return True

    return include


__all__ = [
    "FTS_TABLE",
    "QUEUE_TABLE",
    "SEARCH_TABLES",
    "SQLITE_TRIGGERS",
    "TERMS_TABLE",
    "flush",
    "flush_sqlite",
    "maintain",
    "schema_filter",
]
