"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

This fails whenever a model changes without a migration: run
``make migration m="what changed"`` and commit the new file in ``server/migrations/versions``.
"""

from __future__ import annotations

import sqlite3
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
from server.models.search import QUEUE_TABLE, SEARCH_TABLES, SQLITE_TRIGGERS, schema_filter
from tests.search_index import assert_index_is_exact, queued

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


def _add_cases(path: Path, *cases: tuple[str, str, str | None, str]) -> None:
    """(id, state, step_deadline, description) rows written with plain SQL, at any revision."""
    columns = (
        "id, version, state, source, category_code, lat, lon, coord_system, address, "
        "description, created_at, updated_at, rework_count, reopen_count, return_count, "
        "step_deadline"
    )
    with sqlite3.connect(path) as raw:
        for cid, state, deadline, description in cases:
            raw.execute(
                f"INSERT INTO cases ({columns}) VALUES "
                "(?, 1, ?, 'hotline', 'x', 0, 0, 'wgs84', '建设路1号', ?, "
                "'2026-11-20', '2026-11-20', 0, 0, 0, ?)",
                (cid, state, description, deadline),
            )


def _matches(path: Path, phrase: str) -> list[str]:
    with sqlite3.connect(path) as raw:
        found = raw.execute(
            "SELECT c.id FROM case_search JOIN cases c ON c.rowid = case_search.rowid "
            "WHERE case_search MATCH ? ORDER BY c.id",
            (f'"{phrase}"',),
        )
        return [r[0] for r in found]


def _triggers(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        return dict(rows.fetchall())


def test_search_index_is_filled_from_open_cases_and_kept_by_triggers(tmp_path: Path) -> None:
    """Migration b7e41c9d2a6f indexes the open cases already there; its triggers exist at head
    (a later batch migration that copies ``cases`` would drop them: this test says so)."""
    path = tmp_path / "search.sqlite3"
    upgrade(f"sqlite:///{path}", "c873d9ca50a0")
    _add_cases(path, ("open", "reported", "2026-11-21", "垃圾"), ("done", "closed", None, "垃圾"))
    upgrade(f"sqlite:///{path}", "head")
    assert set(SQLITE_TRIGGERS) <= set(_triggers(path))
    assert _matches(path, "建设路") == ["open"]


def test_search_queue_migration_keeps_the_index_and_its_downgrade_flushes(tmp_path: Path) -> None:
    """b40bfa3ba115: the index written by the old triggers stays as it is, the new triggers
    only queue; the downgrade flushes the queue into the index and puts the old triggers back."""
    path = tmp_path / "queue.sqlite3"
    upgrade(f"sqlite:///{path}", "3f6b2d9e8a41")
    _add_cases(path, *((f"c{n}", "reported", "2026-11-21", f"旧文本{n}") for n in range(4)))
    upgrade(f"sqlite:///{path}", "head")
    assert all(QUEUE_TABLE in sql for sql in _triggers(path).values())
    assert queued(path) == [] and assert_index_is_exact(path) > 0
    _add_cases(path, ("new", "reported", "2026-11-21", "新报告"))
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE cases SET step_deadline = NULL, state = 'closed' WHERE id = 'c0'")
        raw.execute("UPDATE cases SET description = '改过' WHERE id = 'c1'")
        raw.execute("DELETE FROM cases WHERE id = 'c2'")
    assert len(queued(path)) == 4 and _matches(path, "新报告") == []  # not indexed yet

    downgrade(f"sqlite:///{path}", "3f6b2d9e8a41")
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert QUEUE_TABLE not in tables
    assert not any(QUEUE_TABLE in sql for sql in _triggers(path).values())
    assert assert_index_is_exact(path) > 0  # the queue was flushed into it
    assert _matches(path, "新报告") == ["new"] and _matches(path, "旧文本") == ["c3"]
    _add_cases(path, ("later", "reported", "2026-11-21", "后来的"))
    assert _matches(path, "后来的") == ["later"]  # the old triggers index at once again
    assert_index_is_exact(path)


def test_create_all_makes_the_search_objects_of_the_migrations(tmp_path: Path) -> None:
    """The models' DDL (``SQLITE_CREATE``, on ``create_all``) and the migrations make the same
    search tables and triggers, to the letter (white space aside)."""

    def search_objects(path: Path) -> list[tuple[str, str, str]]:
        with sqlite3.connect(path) as raw:
            rows = raw.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
            return [
                (kind, name, " ".join((sql or "").split()))
                for kind, name, sql in rows
                if name in SEARCH_TABLES or name in SQLITE_TRIGGERS
            ]

    migrated, created = tmp_path / "migrated.sqlite3", tmp_path / "created.sqlite3"
    upgrade(f"sqlite:///{migrated}", "head")
    engine = make_engine(f"sqlite:///{created}")
    Base.metadata.create_all(engine)
    engine.dispose()
    objects = search_objects(migrated)
    assert {name for _, name, _ in objects} >= {QUEUE_TABLE, *SQLITE_TRIGGERS}
    assert search_objects(created) == objects


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


AUDIENCE_GIN = {
    "ix_sync_changes_audience",
    "ix_sync_changes_prev_audience",
    "ix_sync_records_audience",
}


def _sync_indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        found = inspect(engine)
        return {i["name"] for t in ("sync_changes", "sync_records") for i in found.get_indexes(t)}
    finally:
        engine.dispose()


def test_the_unused_audience_gin_indexes_are_dropped_and_come_back_on_downgrade() -> None:
    """Migration a3d5c7e9f1b2 drops the GIN indexes no query read (docs/operations.md, "Sync
    indexes"); its downgrade builds them again, and upgrading drops them once more."""
    with scratch_database("cgt_gin") as url:
        upgrade(url, "b40bfa3ba115")
        assert _sync_indexes(url) >= AUDIENCE_GIN
        upgrade(url, "head")
        assert not _sync_indexes(url) & AUDIENCE_GIN
        downgrade(url, "b40bfa3ba115")
        assert _sync_indexes(url) >= AUDIENCE_GIN
        upgrade(url, "head")
        assert not _sync_indexes(url) & AUDIENCE_GIN


def _sqlite_indexes(url: str) -> dict[str, str]:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    return {name: " ".join(sql.replace('"', "").split()) for name, sql in rows}


def test_sqlite_indexes_match_the_models_to_their_conditions(tmp_path: Path) -> None:
    """Alembic's comparison does not look at a partial index's WHERE: each index the
    migrations build on SQLite is compared with the models' own, as text."""
    migrated = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    upgrade(migrated, "head")
    modelled = f"sqlite:///{tmp_path / 'modelled.sqlite3'}"
    engine = make_engine(modelled)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
    assert _sqlite_indexes(migrated) == _sqlite_indexes(modelled)
