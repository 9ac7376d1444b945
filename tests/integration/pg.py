"""Throwaway PostgreSQL databases for integration tests, made with the test server's role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import drop_database  # one way to drop a scratch database, benches' too

PG_URL = os.environ.get("CGT_TEST_PG_URL")


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
