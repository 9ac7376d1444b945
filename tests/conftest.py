"""Fixtures: an app per test on a fresh database, on SQLite and (when available) PostgreSQL.

PostgreSQL runs when ``CGT_TEST_PG_URL`` is set (``make test`` sets it); under CI it is
required, so a missing server fails the run instead of silently testing less.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from server import create_app, shutdown
from server.clock import FixedClock
from server.models import Base
from tests.integration.pg import drop_database

PG_URL = os.environ.get("CGT_TEST_PG_URL")
ENGINES = ["sqlite", "postgresql"]
# Monday 2026-11-16 09:00 in Beijing: inside working hours.
START = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") and not PG_URL:
        raise pytest.UsageError("CI run without CGT_TEST_PG_URL: PostgreSQL tests would be skipped")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of this test process's own, so parallel runs never share tables."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set CGT_TEST_PG_URL)")
    base = make_url(PG_URL)
    name = f"{base.database}_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop_database(admin, name)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[object]:
    engine = create_engine(pg_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _truncate_pg(engine: object) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    engine = request.getfixturevalue("pg_engine")
    _truncate_pg(engine)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "PHOTO_DIR": str(tmp_path / "photos"),
            "CLOCK": clock,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "OTP_RESEND_SECONDS": 60,
            "SYNC_INBOX_APPLIER": False,  # tests apply the sync inbox explicitly (drain)
        }
    )
    from server.db import database

    db = database(app)
    if db_url.startswith("sqlite"):
        Base.metadata.create_all(db.engine)
    yield app
    shutdown(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()
