"""The pull page over real HTTP: each record's stored JSON text is spliced into the body as it
is (never decoded and encoded again on the server), and the device still parses and checks
every page before it applies it: a record whose stored text is not a JSON object, or is not
JSON at all, is refused and nothing of its page is applied."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text

from bench import sync_gen
from server.models import User
from server.models.sync import SyncRecord
from sync.case_mutations import registry
from sync.client import SyncClient
from sync.http import HttpTransport
from sync.stores.sqlite_client import SqliteClientStore
from tests.factories import DEMO_PASSWORD, INSPECTOR


def _token(server: str) -> str:
    resp = requests.post(
        server + "/api/auth/login",
        json={"username": INSPECTOR, "password": DEMO_PASSWORD, "device_id": "pull-text"},
        timeout=10,
    )
    return str(resp.json()["access_token"])


def _phone(server: str, token: str, path: Path) -> SyncClient:
    return SyncClient(
        SqliteClientStore(path),
        HttpTransport(server, token),
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        scope=("my_reports",),
        page_limit=3,
        prefetch=True,
    )


def _publish(db_url: str, n: int) -> list[str]:
    """``n`` records of the inspector's ``my_reports``, written in the shape the server
    publishes (``bench.sync_gen``: records, scope index, change log)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            uid = conn.scalar(select(User.id).where(User.username == INSPECTOR))
        ids: list[str] = []

        def data(i: int, rid: str) -> dict[str, object]:
            ids.append(rid)
            note = f"垃圾满溢 “{i}” \\ 路口"
            return {"id": rid, "state": "reported", "n": i, "lat": 33.75 + i / 1000,
                    "description": note, "photos": [], "rating": None}  # fmt: skip

        sync_gen.append(engine, n, collection="my_reports", audience=lambda i: [f"user:{uid}"],
                        data=data, now=datetime.now(UTC), seed=7)  # fmt: skip
    finally:
        engine.dispose()
    return ids


def _stored(db_url: str, collection: str) -> dict[str, object]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            t = SyncRecord.__table__
            rows = conn.execute(
                select(t.c.id, t.c.data).where(t.c.collection == collection, ~t.c.deleted)
            )
            return {r.id: r.data for r in rows}
    finally:
        engine.dispose()


def _corrupt(db_url: str, case_id: str, stored_text: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE sync_records SET data = :d WHERE collection = :c AND id = :i"),
                {"d": stored_text, "c": "my_reports", "i": case_id},
            )
    finally:
        engine.dispose()


def test_a_pulled_page_brings_the_stored_records_as_they_are(
    server: str, db_url: str, tmp_path: Path
) -> None:
    token = _token(server)
    ids = _publish(db_url, 7)
    phone = _phone(server, token, tmp_path / "phone.sqlite3")
    report = phone.sync()
    assert report.ok and report.pulled >= 7
    held = phone.all("my_reports")
    stored = _stored(db_url, "my_reports")
    assert set(ids) <= set(held) and held == stored
    assert "“3” \\ 路口" in str(held[ids[3]]["description"])


@pytest.mark.parametrize("stored_text", ["[1, 2]", '"a string"', "null", "7"])
def test_stored_text_that_is_not_an_object_is_refused_and_nothing_applied(
    server: str, db_url: str, tmp_path: Path, stored_text: str
) -> None:
    token = _token(server)
    ids = _publish(db_url, 4)
    _corrupt(db_url, sorted(ids)[1], stored_text)
    phone = _phone(server, token, tmp_path / "phone.sqlite3")
    report = phone.sync()
    assert not report.ok and report.error == "bad_request"
    with phone.store.transaction() as tx:
        cursor = tx.get_meta("cursor")
    assert cursor is None and phone.all("my_reports") == {}  # its page (the first) refused whole
    _corrupt(db_url, sorted(ids)[1], json.dumps({"id": sorted(ids)[1], "state": "fixed"}))
    assert phone.sync().ok and phone.all("my_reports")[sorted(ids)[1]]["state"] == "fixed"


def test_stored_text_that_is_not_json_makes_an_unreadable_page_that_is_not_applied(
    server: str, db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's json type refuses text that is not JSON when it is written")
    token = _token(server)
    ids = _publish(db_url, 4)
    _corrupt(db_url, sorted(ids)[0], '{"state": "reported", "cut')
    phone = _phone(server, token, tmp_path / "phone.sqlite3")
    report = phone.sync()
    assert not report.ok and report.error == "transport"  # unknown outcome: retried later
    assert not set(ids) & set(phone.all("my_reports"))
    _corrupt(db_url, sorted(ids)[0], json.dumps({"state": "reported", "id": sorted(ids)[0]}))
    assert phone.sync().ok and set(ids) <= set(phone.all("my_reports"))
