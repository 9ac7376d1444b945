"""The catalogue and grid each server process keeps in memory (server/services/city_cache.py)
follow imports made by any process, and never remember a change that did not commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from server import create_app, shutdown
from server.db import database
from server.models import Case, Category, GridCell
from server.services import city_cache
from tests.api.case_helpers import report
from tests.factories import CITIZEN_PHONE, INSPECTOR_CELL, INSPECTOR_POINT, load_city, login_phone


def _other_process(app: Flask, tmp_path: Path) -> Flask:
    """A second app on the same database: another worker process, with its own copy."""
    config = {k: app.config[k] for k in ("DATABASE_URL", "CLOCK", "ARGON2_TIME_COST",
                                         "ARGON2_MEMORY_COST")}  # fmt: skip
    return create_app({**config, "TESTING": True, "PHOTO_DIR": str(tmp_path / "p2")})


def _cases(app: Flask) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_an_import_in_another_process_reaches_this_one(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    assert report(client, citizen, category_code="SJ0101").status_code == 201
    assert city_cache._copies.get(database(app).engine) is not None  # the copy is cached
    other = _other_process(app, tmp_path)
    try:
        with database(other).session() as s:
            cat = s.get(Category, "SJ0101")
            assert cat is not None
            cat.active = False
        resp = report(client, citizen, category_code="SJ0101")
        assert resp.status_code == 422 and resp.json["code"] == "unknown_category"
        with database(other).session() as s:  # the cell moves: reports there are outside
            cell = s.get(GridCell, INSPECTOR_CELL)
            assert cell is not None
            cell.min_lat = cell.max_lat = 0.0
        resp = report(client, citizen, category_code="SJ0201")
        assert resp.status_code == 422 and resp.json["code"] == "outside_city"
    finally:
        shutdown(other)
    assert _cases(app) == 1


def test_a_change_rolled_back_is_not_remembered(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    with database(app).factory() as s:
        cat = s.get(Category, "SJ0101")
        assert cat is not None
        cat.active = False
        s.flush()
        seen: Any = city_cache.snapshot(s).category("SJ0101")
        assert seen is not None and not seen.active  # the transaction sees its own change
        s.rollback()
    assert report(client, citizen, category_code="SJ0101").status_code == 201
    with database(app).factory() as s:
        assert city_cache.locate(s, *INSPECTOR_POINT) is not None


def test_a_report_reads_the_city_token_along_with_its_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    """Checking the copy costs a request no statement of its own: the sign-in's statement
    reads the token too (and the copy still follows other processes: the test above)."""
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    assert report(client, citizen).status_code == 201  # the copy is loaded
    seen: list[str] = []

    def keep(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = database(app).engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert report(client, citizen).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    reads = [st for st in seen if "FROM city_revision" in st]
    assert len(reads) == 1 and "device_tokens" in reads[0], reads
