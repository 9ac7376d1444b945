"""Text search of open cases (``q=``): the engine's trigram index finds the candidates, the
plain ``LIKE`` decides.

The meaning of a search is the ``LIKE '%q%'`` on the address or the description (with ``%``,
``_`` and the escape character taken literally), exactly as before the index: on SQLite
``LIKE`` ignores the case of ASCII letters, on PostgreSQL it does not. The index only narrows
which rows that ``LIKE`` reads (``server/models/search.py``):

- **SQLite** (FTS5 ``trigram``, open cases only, kept through a queue that a flush empties
  into it): a query of 3 or more characters is an FTS5 phrase; a query of 1 or 2 characters
  is the prefix of the indexed trigrams, listed from the ``fts5vocab`` table by a range
  look-up and OR-ed. The cases changed since the last flush are in the queue, and the index
  may still hold their old texts: the candidates are the index's answer ∪ the queued open
  cases that match now (rowid look-ups into ``cases``), so a search never waits for a flush.
  When more than ``CANDIDATES`` open cases could match (a common word), from the index or
  from the queue, the index is left aside: the deadline-ordered list filled by a common word
  ends after a few hundred rows, sooner than sorting thousands of candidates. A 1- or
  2-character query with a non-ASCII letter that has a case (é, Σ …) also uses the plain
  scan: FTS5 folds case by its own Unicode table, which Python's may not match.
- **PostgreSQL**: 3 or more characters: nothing to add, the planner uses the ``pg_trgm`` GIN
  indexes for the ``LIKE`` itself. 1 or 2 characters have no trigram to look up: the clause
  adds ``cgt_search_grams(column) @> ARRAY[q]``, the expression of the GIN indexes of every
  1- and 2-character substring — unless a first look at those indexes finds more than
  ``CANDIDATES`` open cases (a common word), when the deadline order fills a page sooner.
- A search that includes finished cases (asked by state) is never indexed: the index holds
  open cases only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from ..models import Case
from ..models.search import FTS_TABLE, QUEUE_TABLE, TERMS_TABLE

CANDIDATES = 1000  # more possible matches than this: the deadline-ordered scan is cheaper
_TOP = chr(0x10FFFF)


def like(q: str) -> ColumnElement[bool]:
    """The meaning of a search: ``q`` inside the address or the description."""
    return or_(
        Case.address.contains(q, autoescape=True),
        Case.description.contains(q, autoescape=True),
    )


def text_clause(s: Session, q: str, open_only: bool) -> ColumnElement[bool]:
    """The WHERE clause for ``q``: the ``LIKE``, narrowed to the index's candidates when the
    index can answer (``open_only``: the query already keeps to ``step_deadline IS NOT NULL``)."""
    dialect = s.get_bind().dialect.name
    if not open_only:
        return like(q)
    if dialect == "postgresql":
        if len(q) > 2:
            return like(q)  # the planner uses the pg_trgm indexes for the LIKE itself
        wanted = array([cast(q, Text)])
        grams = or_(*(_grams(col).contains(wanted) for col in _COLUMNS))
        # The planner cannot tell a rare word from a common one here (no statistics on the
        # expression's elements): ask the index whether there are more than CANDIDATES.
        common = select(literal(1)).where(Case.step_deadline.is_not(None), grams)
        if s.scalar(common.offset(CANDIDATES).limit(1)) is not None:
            return like(q)  # the deadline-ordered list fills a page sooner
        return and_(grams, like(q))
    if dialect != "sqlite":
        return like(q)
    rowids = sqlite_candidates(s, q)
    if rowids is None:
        return like(q)
    return and_(_ROWID.in_(rowids), like(q))


_COLUMNS = (Case.address, Case.description)


def _grams(column: Any) -> Any:
    """``cgt_search_grams(column)``: the expression of the PostgreSQL 1-2-gram indexes."""
    return func.cgt_search_grams(column, type_=ARRAY(Text))


def _phrase(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def sqlite_candidates(s: Session, q: str) -> list[int] | None:
    """Rowids of the open cases whose indexed text contains ``q`` (case-folded) and of the
    queued cases that contain it now, or None when the index should be left aside (too many
    candidates, or a fold it cannot promise)."""
    if len(q) < 3 and any(not c.isascii() and c.lower() != c.upper() for c in q):
        return None
    # The queue first: a flush that commits between the two reads has then moved what it
    # took from the queue into the index before the index is read (each read is a snapshot
    # of its own). The other way round, a row could be in neither.
    queued = list(s.scalars(_queued(q).limit(CANDIDATES + 1)))
    if len(queued) > CANDIDATES:
        return None
    indexed = _indexed(s, q)
    if indexed is None:
        return None
    rowids = sorted(set(queued).union(indexed))
    return None if len(rowids) > CANDIDATES else rowids


_QUEUE = table(QUEUE_TABLE, column("rowid"))
_ROWID: ColumnClause[Any] = literal_column("cases.rowid")


def _queued(q: str) -> Select[Any]:
    """The queued cases (changed since the index's last flush) that are open and match now:
    rowid look-ups from the queue, which a flush empties (the maintenance thread's, once it
    holds ``BUSY_FLUSH_ROWS`` rows or the app is idle; a bulk push may add a few thousand)."""
    return select(_ROWID).where(
        _ROWID.in_(select(_QUEUE.c.rowid)), Case.step_deadline.is_not(None), like(q)
    )


def _indexed(s: Session, q: str) -> list[int] | None:
    """What the FTS5 index holds for ``q`` (None: more than ``CANDIDATES``)."""
    if len(q) >= 3:
        match = _phrase(q)
    else:
        prefix = q.lower()
        terms = s.execute(
            text(
                f"SELECT term, doc FROM {TERMS_TABLE} WHERE term >= :lo AND term < :hi LIMIT :cap"
            ),
            {"lo": prefix, "hi": prefix + _TOP, "cap": CANDIDATES + 1},
        ).all()
        if len(terms) > CANDIDATES or sum(doc for _, doc in terms) > CANDIDATES:
            return None
        if not terms:
            return []
        match = " OR ".join(_phrase(term) for term, _ in terms)
    rowids = list(
        s.scalars(
            text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :m LIMIT :cap"),
            {"m": match, "cap": CANDIDATES + 1},
        )
    )
    return None if len(rowids) > CANDIDATES else rowids


__all__ = ["CANDIDATES", "like", "sqlite_candidates", "text_clause"]
