"""What the SQLite text-search index should hold, worked out independently of the triggers
and the flush: a fresh index of the open cases, compared entry by entry with the live one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

_ENTRIES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.entries USING fts5vocab(main, case_search, instance)"
)


def _entries(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every (trigram, rowid, column, offset) the index holds, deletes applied."""
    conn.execute(_ENTRIES)
    rows = conn.execute("SELECT term, doc, col, offset FROM temp.entries ORDER BY 1, 2, 3, 4")
    return rows.fetchall()


def queued(path: str | Path) -> list[tuple[Any, ...]]:
    """The rows of the search queue: (rowid, indexed, address, description)."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM case_search_queue ORDER BY rowid").fetchall()


def assert_index_is_exact(path: str | Path) -> int:
    """The index at ``path`` holds the open cases' texts and nothing else (each text followed
    by two U+0001); returns how many entries it holds. Both sides come from one snapshot (a
    copy in memory), whatever a maintenance thread does meanwhile."""
    live = sqlite3.connect(path)
    fresh = sqlite3.connect(":memory:")
    try:
        live.backup(fresh)
        have = _entries(fresh)
        fresh.execute("INSERT INTO case_search(case_search) VALUES ('delete-all')")
        fresh.execute(
            "INSERT INTO case_search(rowid, address, description) "
            "SELECT rowid, coalesce(address, '') || char(1, 1), "
            "coalesce(description, '') || char(1, 1) FROM cases WHERE step_deadline IS NOT NULL"
        )
        want = _entries(fresh)
        assert have == want
        return len(want)
    finally:
        live.close()
        fresh.close()
