"""Throwaway PostgreSQL databases for integration tests, made with the test server's role."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

PG_URL = os.environ.get("CGT_TEST_PG_URL")


def drop_database(admin: Engine, name: str, attempts: int = 10) -> None:
    """Drop a test database, ending this role's sessions in it first.

    Not ``WITH (FORCE)``: that needs the right to end every session in the database, and
    the test role may not end another role's (a superuser's, an autovacuum worker's). A
    plain DROP stops autovacuum by itself; a session still closing is waited for. A database
    that still cannot be dropped is reported, not raised: teardown must not fail a run, nor
    hide the test's own failure.
    """
    own = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
    )
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(own, {"name": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except OperationalError as error:  # in use: a session is still closing
            if attempt == attempts - 1:
                print(f"test database {name} left behind: {error}", file=sys.stderr)
                return
            time.sleep(0.5)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """Create an empty database named after this process, yield its URL, drop it afterwards.

    The pid in the name keeps concurrent test runs on one server out of each other's way.
    """
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set CGT_TEST_PG_URL)")
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        drop_database(admin, name)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)
        admin.dispose()
