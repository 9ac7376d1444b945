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
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select

from server import create_app
from server.clock import FixedClock
from server.db import database
from server.models import ApiKey, Base, User
from server.services.auth import AuthSettings, issue_tokens
from server.services.open311 import digest
from tests.conftest import START

from .open311_spec import API_KEY

# Examples per operation and role. CI keeps the default (a few minutes on two shared
# cores); `CGT_FUZZ_EXAMPLES=300 pytest tests/fuzz` searches much longer.
EXAMPLES = int(os.environ.get("CGT_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("CGT_FUZZ_SEED", "20261116"))


def fuzz_config(**checks: dict[str, bool]) -> SchemathesisConfig:
    """Bounded and deterministic: a fixed seed, derandomized, no example database."""
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # A busy CI machine is slow to generate some bodies; that is no failure of the API.
            "suppress-health-check": ["too_slow"],
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": checks,
        }
    )


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
    with db.session() as s:
        s.add(ApiKey(name="fuzz", key_digest=digest(API_KEY), active=True, created_at=START))
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
