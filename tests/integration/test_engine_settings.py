"""What ``server.db.make_engine`` sets up, as the database sees it."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import insert

from server.db import database
from server.models.sync import SyncRecord


def test_json_columns_keep_chinese_as_text_and_sort_keys(app: Flask) -> None:
    """Device records are stored compact, keys sorted, Chinese as UTF-8 (not \\uXXXX escapes
    twice the size) — the text a pull splices into its page as it is."""
    with database(app).engine.begin() as conn:
        conn.execute(
            insert(SyncRecord.__table__),
            [{"collection": "cases", "id": "c1", "version": 1, "deleted": False,
              "data": {"说明": "井盖松动", "a": 1}, "audience": ["public"]}],
        )  # fmt: skip
        (text,) = conn.exec_driver_sql("SELECT CAST(data AS TEXT) FROM sync_records").one()
    assert text == '{"a":1,"说明":"井盖松动"}'


def test_sqlite_keeps_statement_journals_in_memory(app: Flask) -> None:
    engine = database(app).engine
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no such setting")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY


def test_the_pool_hands_out_the_connection_returned_last(app: Flask) -> None:
    """With two idle connections, back-to-back requests keep using the one returned last. A
    pool handing out the one idle longest alternated between them, and on SQLite every
    request then found its page cache out of date after the other connection's commit and
    read its pages again (48 reads a report in a served worker, 15 with LIFO)."""
    engine = database(app).engine
    first, second = engine.connect(), engine.connect()  # e.g. a request and the applier
    a, b = first.connection.dbapi_connection, second.connection.dbapi_connection
    assert a is not b
    first.close()
    second.close()  # returned last
    for _ in range(3):
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
            assert conn.connection.dbapi_connection is b
