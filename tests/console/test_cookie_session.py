"""The session cookie (server/cookie_session.py): free for the cookie-less JSON API, and for the
console exactly Flask's signed cookie — sign-in, expiry after one shift, tampering and key
rotation behave as before."""

from __future__ import annotations

from typing import Any

import flask.sessions
import pytest
from itsdangerous import TimestampSigner

from server.cookie_session import CookieSessionInterface
from tests.console.helpers import console_client
from tests.factories import DISPATCHER, load_city, login

DESK = "/console/queue/new"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every itsdangerous serializer Flask's session interface builds from now on."""
    made: list[Any] = []
    real = flask.sessions.URLSafeTimedSerializer

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(flask.sessions, "URLSafeTimedSerializer", counting)
    return made


def signed_in(client: Any) -> bool:
    return bool(client.get(DESK).status_code == 200)


def test_api_requests_without_a_cookie_open_no_serializer_and_set_no_cookie(
    app, client, built
):
    assert isinstance(app.session_interface, CookieSessionInterface)
    load_city(app)
    auth = login(client, DISPATCHER)
    for _ in range(5):
        resp = client.get("/api/queue", headers=auth)
        assert resp.status_code == 200
        assert "Set-Cookie" not in resp.headers and "Cookie" not in resp.vary
    assert client.get_cookie("session") is None
    assert built == []  # Flask's own interface builds one for every request


def test_the_console_builds_its_serializer_once_and_keeps_its_session(app, built):
    load_city(app)
    desk = console_client(app, DISPATCHER)
    cookie = desk.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    for _ in range(5):
        assert signed_in(desk)
    assert len(built) == 1
    assert not signed_in(app.test_client())  # no cookie: an empty session, the login page


def test_a_session_ends_after_a_shift_idle_and_a_tampered_cookie_is_nobody(app, monkeypatch):
    load_city(app)
    busy, idle = console_client(app, DISPATCHER), console_client(app, DISPATCHER)
    value = idle.get_cookie("session").value
    forged = app.test_client()
    forged.set_cookie("session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert not signed_in(forged)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    now = TimestampSigner.get_timestamp(TimestampSigner(b"k"))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now + lifetime - 60)
    assert signed_in(busy)  # each answer signs the cookie afresh (SESSION_REFRESH_EACH_REQUEST)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now + lifetime + 60)
    assert signed_in(busy)
    assert not signed_in(idle)


def test_a_new_secret_key_with_the_old_as_fallback_keeps_staff_signed_in(app):
    load_city(app)
    desk, away = console_client(app, DISPATCHER), console_client(app, DISPATCHER)
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[old])
    assert signed_in(desk)  # read with the fallback key, signed afresh with the new one
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert signed_in(desk)
    assert not signed_in(away)  # still signed with the old key, now dropped
    app.config["SECRET_KEY"] = old
    assert not signed_in(desk)
