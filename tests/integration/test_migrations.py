"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

This fails whenever a model changes without a migration: run
``make migration m="what changed"`` and commit the new file in ``server/migrations/versions``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from server import create_app
from server.commands.db import alembic_config, downgrade, upgrade
from server.db import make_engine
from server.models import Base
from server.models.search import SEARCH_TABLES, SQLITE_TRIGGERS, schema_filter

from .pg import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    with scratch_database("cgt_migrate") as url:
        yield url


def _schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": schema_filter(engine.dialect.name)}
            ctx = MigrationContext.configure(conn, opts=opts)
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"} - SEARCH_TABLES
    finally:
        engine.dispose()


def test_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "migration branches must be merged: alembic merge heads"


def test_upgrade_matches_models_and_downgrade_empties(empty_db_url: str) -> None:
    upgrade(empty_db_url, "head")
    assert _tables(empty_db_url) == set(Base.metadata.tables)
    diff = _schema_diff(empty_db_url)
    assert diff == [], (
        "models and migrations differ; run `make migration m=...` and commit it:\n"
        + "\n".join(map(repr, diff))
    )

    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()


def test_upgrade_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.sqlite3'}"
    upgrade(url, "head")
    upgrade(url, "head")  # `make run` migrates on every start
    assert _tables(url) == set(Base.metadata.tables)


def test_db_upgrade_refuses_a_schema_made_without_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unversioned.sqlite3'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "PHOTO_DIR": str(tmp_path)})

    result = app.test_cli_runner().invoke(args=["cgt", "db-upgrade"])

    assert result.exit_code == 1
    assert "no migration history" in result.output


def test_db_commands_migrate_the_apps_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "PHOTO_DIR": str(tmp_path)})
    runner = app.test_cli_runner()

    assert runner.invoke(args=["cgt", "db-upgrade"]).exit_code == 0
    assert _tables(url) == set(Base.metadata.tables)
    assert runner.invoke(args=["cgt", "db-downgrade", "--revision", "base"]).exit_code == 0
    assert _tables(url) == set()


def test_search_index_is_filled_from_open_cases_and_kept_by_triggers(tmp_path: Path) -> None:
    """Migration b7e41c9d2a6f indexes the open cases already there; its triggers exist at head
    (a later batch migration that copies ``cases`` would drop them: this test says so)."""
    import sqlite3

    path = tmp_path / "search.sqlite3"
    upgrade(f"sqlite:///{path}", "c873d9ca50a0")
    columns = (
        "id, version, state, source, category_code, lat, lon, coord_system, address, "
        "description, created_at, updated_at, rework_count, reopen_count, return_count, "
        "step_deadline"
    )
    with sqlite3.connect(path) as raw:
        for cid, state, deadline in (("open", "reported", "2026-11-21"), ("done", "closed", None)):
            raw.execute(
                f"INSERT INTO cases ({columns}) VALUES "
                "(?, 1, ?, 'hotline', 'x', 0, 0, 'wgs84', '建设路1号', '垃圾', "
                "'2026-11-20', '2026-11-20', 0, 0, 0, ?)",
                (cid, state, deadline),
            )
    upgrade(f"sqlite:///{path}", "head")
    with sqlite3.connect(path) as raw:
        triggers = {
            r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert set(SQLITE_TRIGGERS) <= triggers
        found = raw.execute(
            "SELECT c.id FROM case_search JOIN cases c ON c.rowid = case_search.rowid "
            "WHERE case_search MATCH '\"建设路\"'"
        ).fetchall()
        assert found == [("open",)]


def test_postgresql_search_indexes_are_made_by_the_migration() -> None:
    """pg_trgm (3+ characters) and the 1-2-gram expression indexes exist at head."""
    with scratch_database("cgt_migrate_search") as url:
        upgrade(url, "head")
        engine = make_engine(url)
        try:
            names = {i["name"] for i in inspect(engine).get_indexes("cases")}
        finally:
            engine.dispose()
    assert {
        "ix_cases_open_address_trgm",
        "ix_cases_open_description_trgm",
        "ix_cases_open_address_grams",
        "ix_cases_open_description_grams",
    } <= names
