"""Fuzzing fixtures: one app on SQLite with the demo city and its cases, people to act as.

The fuzz tests drive the real WSGI app in-process through its own OpenAPI document
(schemathesis). The app lives for the whole fuzz session: every operation's examples share
its database, so later requests meet what earlier ones wrote, as on a real server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from schemathesis.config import SchemathesisConfig
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import Client

from server import create_app, shutdown
from server.clock import FixedClock
from server.db import database
from server.domain.workflow import ACTIONS
from server.models import ApiKey, Base, Case, Category, Department, Photo, Supervision, User
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


# Real values by parameter name, filled once the demo city is loaded: the fuzzer mixes them
# into generated requests (tests/fuzz/test_api_fuzz.py), or it would hardly ever meet a
# record and never get past "not found".
KNOWN: dict[str, list[Any]] = {}


def known_values(s: Session) -> dict[str, list[Any]]:
    def column(col: Any) -> list[Any]:
        return sorted(s.scalars(select(col)))

    inspectors = select(User.id).where(User.role == "inspector")
    return {
        "case_id": column(Case.id),
        "target": column(Case.id),
        "action": list(ACTIONS),
        "supervision_id": column(Supervision.id),
        "sha256": column(Photo.sha256),
        "code": column(Category.code),
        "category_code": column(Category.code),
        "department": column(Department.code),
        "inspector_id": sorted(s.scalars(inspectors)),
        "month": ["2026-09", "2026-10", "2026-11"],
        "year": [2025, 2026],
    }


class ClosingClient(Client):
    """Reads every answer whole and closes it, as a WSGI server does.

    schemathesis's own WSGI client leaves a streamed answer (a photo from send_file) open,
    which pytest reports as an unclosed file.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return super().open(*args, **{**kwargs, "buffered": True})


def make_app(db_url: str, photo_dir: str) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "PHOTO_DIR": photo_dir,
            "CLOCK": FixedClock(START),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            # The fuzzer sends many wrong passwords from one address on a stopped clock: the
            # sign-in limits (tested in tests/console/test_signin_limits.py) would lock the
            # accounts it signs in with.
            "LOGIN_MAX_FAILURES": 10**9,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 10**9,
        }
    )


@pytest.fixture(scope="session")
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An app on a fresh database, loaded like `make run`: the demo city and its cases.

    SQLite, unless ``CGT_FUZZ_ENGINE=postgresql`` (with ``CGT_TEST_PG_URL``) asks for a
    PostgreSQL database of this process's own: one engine is enough for CI, the other is
    for hunting engine-specific bugs by hand.
    """
    tmp = tmp_path_factory.mktemp("fuzz")
    if os.environ.get("CGT_FUZZ_ENGINE") == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp / 'fuzz.sqlite3'}"
    app = make_app(url, str(tmp / "photos"))
    db = database(app)
    Base.metadata.create_all(db.engine)
    result = app.test_cli_runner().invoke(args=["cgt", "load-demo"])
    assert result.exit_code == 0, result.output
    with db.session() as s:
        s.add(ApiKey(name="fuzz", key_digest=digest(API_KEY), active=True, created_at=START))
        KNOWN.update(known_values(s))
    yield app
    shutdown(app)


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
