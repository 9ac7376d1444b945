"""Core statements run straight on the driver's cursor: compiled once, no per-call ORM work.

Executing a Core statement through a ``Connection`` costs SQLAlchemy's own work on every call
(compiled-cache look-up, execution context, parameter processing, result set-up). On the
intake and sync write paths, which run a dozen small statements per report, that was the
largest single cost of a request: a sampling profile of ``POST /api/cases`` put 41% of the
view's time in SQLAlchemy's Python code and 34% in SQLite itself (docs/PERFORMANCE.md,
"Case intake"). A :class:`Prepared` statement is compiled by SQLAlchemy once per dialect and
set of parameter names, with the bind and result processors of its column types, and then
runs on the DBAPI cursor of the caller's connection — inside the same transaction, with the
same SQL text and the same values SQLAlchemy would have sent. What stays SQLAlchemy's:

- the SQL, the parameter style and the type conversions (``bind_processor`` /
  ``result_processor`` of each type, e.g. UTC datetimes and JSON);
- the ``before_cursor_execute`` / ``after_cursor_execute`` events (statement counters in the
  tests and benches see these statements as before);
- its exception classes: a driver error is raised as SQLAlchemy's (``IntegrityError`` …).

Only statements without expanding ``IN`` parameters and without Python-side callable column
defaults can be prepared; anything else raises ``ValueError`` when first compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

_MISSING = object()
Row = tuple[Any, ...]


@dataclass
class _Form:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]  # name, processor, default
    positional: bool
    columns: tuple[Any, ...]  # the types of the columns it returns
    # their result processors, made at the first run (some need the driver's type codes)
    results: tuple[Callable[[Any], Any] | None, ...] | None = None

    def __post_init__(self) -> None:
        # Made once: ``params`` runs for every row of every statement on the write paths.
        self._names = tuple(n for n, _, _ in self.binds)
        self._processors = tuple((i, p) for i, (_, p, _) in enumerate(self.binds) if p is not None)
        required = [n for n, _, d in self.binds if d is _MISSING]
        # every value given (no defaults to fill in): one C-level look-up of them all
        self._take = _getter(required) if len(required) == len(self.binds) else None

    def params(self, given: Mapping[str, Any]) -> Any:
        if self._take is not None:
            values = self._take(given)
        else:
            values = [given[n] if d is _MISSING else given.get(n, d) for n, _, d in self.binds]
        for i, p in self._processors:
            v = values[i]
            if v is not None:
                values[i] = p(v)
        return tuple(values) if self.positional else dict(zip(self._names, values, strict=True))


def _getter(names: list[str]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function taking the values of ``names`` from a mapping, in order, as a new list."""
    if not names:
        return lambda given: []
    if len(names) == 1:
        (only,) = names
        return lambda given: [given[only]]
    take = itemgetter(*names)
    return lambda given: list(take(given))


class Prepared:
    """A Core statement (INSERT, UPDATE … RETURNING, SELECT) run on the DBAPI cursor."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, tuple[str, ...], bool], _Form] = {}

    # ------------------------------------------------------------------ running

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run once; the rows it returns (RETURNING or SELECT), processed like SQLAlchemy's."""
        params = params or {}
        form = self._form(conn.dialect, tuple(params))
        values = form.params(params)
        cursor = self._run(conn, form, values, many=False)
        try:
            if cursor.description is None:
                return []
            rows: list[Row] = cursor.fetchall()
            if form.results is None:
                form.results = tuple(
                    t.result_processor(conn.dialect, d[1])
                    for t, d in zip(form.columns, cursor.description, strict=True)
                )
        finally:
            cursor.close()
        procs = form.results
        if not any(procs):
            return rows
        return [
            tuple(v if p is None or v is None else p(v) for v, p in zip(r, procs, strict=True))
            for r in rows
        ]

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row in one driver call; every row has the first row's keys."""
        if not rows:
            return
        form = self._form(conn.dialect, tuple(rows[0]), many=True)
        self._run(conn, form, [form.params(r) for r in rows], many=True).close()

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.execute(conn, params)
        return rows[0][0] if rows else None

    def _run(self, conn: Connection, form: _Form, values: Any, many: bool) -> Any:
        dispatch = conn.dispatch
        cursor = conn.connection.cursor()
        if dispatch.before_cursor_execute:
            for fn in dispatch.before_cursor_execute:
                fn(conn, cursor, form.sql, values, None, many)
        try:
            if many:
                cursor.executemany(form.sql, values)
            else:
                cursor.execute(form.sql, values)
        except conn.dialect.loaded_dbapi.Error as error:
            cursor.close()
            raise exc.DBAPIError.instance(
                form.sql, values, error, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
            ) from error
        if dispatch.after_cursor_execute:
            for fn in dispatch.after_cursor_execute:
                fn(conn, cursor, form.sql, values, None, many)
        return cursor

    # ------------------------------------------------------------------ compiling

    def _form(self, dialect: Dialect, keys: tuple[str, ...], many: bool = False) -> _Form:
        key = (dialect.name, keys, many)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = self._compile(dialect, keys, many)
        return form

    def _compile(self, dialect: Dialect, keys: tuple[str, ...], many: bool) -> _Form:
        # for_executemany: no RETURNING of a new primary key nobody reads (PostgreSQL)
        compiled: Any = self.statement.compile(
            dialect=dialect, column_keys=list(keys), for_executemany=many
        )
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement with expanding IN parameters cannot be prepared")
        defaults: dict[str, Any] = {}
        prefetch = [(c, c.default) for c in compiled.insert_prefetch]
        prefetch += [(c, c.onupdate) for c in compiled.update_prefetch]
        for column, default in prefetch:
            if default is None or not default.is_scalar:
                raise ValueError(f"{column} has a Python-side default that needs a context")
            defaults[column.key] = default.arg
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in keys:
                default = _MISSING
            elif name in defaults:
                default = defaults[name]
            elif not bind.required:
                default = bind.effective_value
            else:
                raise ValueError(f"no value for the bind parameter {name!r}")
            binds.append((name, processor, default))
        columns = tuple(
            c.type.dialect_impl(dialect) for c in getattr(self.statement, "exported_columns", ())
        )
        return _Form(compiled.string, tuple(binds), compiled.positional, columns)
