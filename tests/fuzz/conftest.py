"""Fuzzing fixtures: one app on SQLite with the demo city and its cases, people to act as.

The fuzz tests drive the real WSGI app in-process through its own OpenAPI document
(schemathesis). The app lives for the whole fuzz session: every operation's examples share
its database, so later requests meet what earlier ones wrote, as on a real server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from server import create_app
from server.clock import FixedClock
from server.db import database
from server.models import Base, User
from server.services.auth import AuthSettings, issue_tokens
from tests.conftest import START

# Examples per operation and role. CI keeps the default (a few minutes on two shared
# cores); `CGT_FUZZ_EXAMPLES=300 pytest tests/fuzz` searches much longer.
EXAMPLES = int(os.environ.get("CGT_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("CGT_FUZZ_SEED", "20261116"))


def make_app(db_url: str, photo_dir: str) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "PHOTO_DIR": photo_dir,
            "CLOCK": FixedClock(START),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )


@pytest.fixture(scope="session")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on a fresh SQLite file, loaded like `make run`: the demo city and its cases."""
    tmp = tmp_path_factory.mktemp("fuzz")
    app = make_app(f"sqlite:///{tmp / 'fuzz.sqlite3'}", str(tmp / "photos"))
    db = database(app)
    Base.metadata.create_all(db.engine)
    result = app.test_cli_runner().invoke(args=["cgt", "load-demo"])
    assert result.exit_code == 0, result.output
    yield app
    db.engine.dispose()


@pytest.fixture(scope="session")
def sign_in(fuzz_app: Flask) -> Callable[[str], dict[str, str]]:
    """A fresh Authorization header for a demo user (by username or phone).

    Fresh for every request: the fuzzer itself signs out, refreshes and revokes devices,
    which would otherwise leave the rest of the run unauthenticated.
    """
    cfg = AuthSettings(3600, 30, 300, 5, 60)

    def headers(login: str) -> dict[str, str]:
        with database(fuzz_app).session() as s:
            user = s.scalars(
                select(User).where((User.username == login) | (User.phone == login))
            ).one()
            tokens = issue_tokens(s, user, "fuzz-device", "fuzz", cfg, START)
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return headers
