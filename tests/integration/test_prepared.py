"""``server.prepared.Prepared``: the same rows, values, errors and events as SQLAlchemy Core."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import database
from server.models import CaseEvent
from server.models.sync import SyncChange, SyncCounter, SyncRecord
from server.prepared import Prepared

_R = SyncRecord.__table__
AT = datetime(2026, 11, 21, 8, 30, 0, tzinfo=UTC)  # a whole second: no microseconds to pad


def _record(id: str, **extra: Any) -> dict[str, Any]:
    return {"collection": "cases", "id": id, "version": 1, "data": {"说明": "井盖", "n": [1, 2]},
            "audience": ["grid:A", "role:dispatcher"], **extra}  # fmt: skip


def test_rows_read_back_as_core_wrote_them(app: Flask) -> None:
    engine = database(app).engine
    with engine.begin() as conn:
        conn.execute(insert(_R), [_record("core", deleted=True)])
        Prepared(insert(_R)).executemany(conn, [_record("prep", deleted=True)])
        rows = {r.id: r for r in conn.execute(select(_R))}
    core, prep = rows["core"], rows["prep"]
    assert (prep.version, prep.data, list(prep.audience), prep.deleted) == (
        core.version, core.data, list(core.audience), core.deleted
    )  # fmt: skip
    assert prep.data == {"说明": "井盖", "n": [1, 2]} and prep.deleted is True


def test_a_scalar_column_default_is_applied_when_the_key_is_left_out(app: Flask) -> None:
    with database(app).engine.begin() as conn:
        Prepared(insert(_R)).executemany(conn, [_record("a")])  # no "deleted": default False
        assert conn.execute(select(_R.c.deleted)).scalar_one() is False


def test_datetimes_round_trip_exactly_and_are_stored_as_core_stores_them(app: Flask) -> None:
    """UTC datetimes are stored in SQLAlchemy's format (SQLite compares them as text)."""
    changes = SyncChange.__table__
    row = {"cursor": 1, "collection": "cases", "id": "c1", "op": "upsert", "version": 1,
           "data": {"a": 1}, "audience": ["public"], "prev_audience": [], "origin": None,
           "at": AT}  # fmt: skip
    with database(app).engine.begin() as conn:
        Prepared(insert(changes)).executemany(conn, [row])
        conn.execute(insert(changes), [{**row, "cursor": 2}])
        read = Prepared(select(changes.c.cursor, changes.c.at).order_by(changes.c.cursor))
        assert read.execute(conn) == [(1, AT), (2, AT)]
        stored = conn.exec_driver_sql("SELECT at FROM sync_changes ORDER BY cursor").all()
        assert stored[0] == stored[1]  # the very same stored value as Core's


def test_returning_gives_processed_values(app: Flask) -> None:
    table = SyncCounter.__table__
    with database(app).engine.begin() as conn:
        conn.execute(insert(table).values(id=1, value=5))
        bump = Prepared(
            update(table).where(table.c.id == 1)
            .values(value=table.c.value + bindparam("n")).returning(table.c.value)
        )  # fmt: skip
        assert bump.scalar(conn, {"n": 3}) == 8
        assert bump.execute(conn, {"n": 1}) == [(9,)]


def test_a_driver_error_is_sqlalchemys_and_the_listeners_see_the_statement(app: Flask) -> None:
    engine = database(app).engine
    seen: list[tuple[str, bool]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        seen.append((statement.split()[0], many))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with engine.begin() as conn:
            prepared = Prepared(insert(_R))
            prepared.executemany(conn, [_record("x")])
            with pytest.raises(IntegrityError):
                prepared.executemany(conn, [_record("x")])
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert seen == [("INSERT", True), ("INSERT", True)]


def test_what_cannot_be_prepared_is_refused_at_first_use(app: Flask) -> None:
    with database(app).engine.begin() as conn:
        expanding = Prepared(select(_R).where(_R.c.id.in_(bindparam("ids", expanding=True))))
        with pytest.raises(ValueError, match="expanding"):
            expanding.execute(conn, {"ids": ["a"]})
        # CaseEvent.data's default is a callable (dict): it needs SQLAlchemy's context
        needs_context = Prepared(insert(CaseEvent.__table__))
        with pytest.raises(ValueError, match="default"):
            needs_context.executemany(conn, [{"case_id": "c", "action": "report"}])
