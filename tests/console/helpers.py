"""Helpers for console tests through Flask's test client: sign in, read the CSRF token, post
forms the way a browser would (the token comes from the page, never from the server's
internals)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import DEMO_PASSWORD

TOKEN_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def token_of(html: str) -> str:
    match = TOKEN_RE.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def page_token(client: FlaskClient, path: str = "/console/login") -> str:
    resp = client.get(path)
    assert resp.status_code in (200, 404, 409, 422), resp.status_code
    return token_of(resp.get_data(as_text=True))


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    """Post the sign-in form; returns the response (303 to the home list on success)."""
    token = page_token(client)
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token},
    )


def console_client(app: Flask, username: str) -> FlaskClient:
    """A fresh browser-like client signed in as ``username``."""
    client = app.test_client()
    resp = sign_in(client, username)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


def post_form(client: FlaskClient, path: str, page: str, **data: Any) -> Any:
    """Post ``data`` to ``path`` with the CSRF token read from ``page`` (as a form would)."""
    token = page_token(client, page)
    return client.post(path, data={"csrf_token": token, **data})


def case_action(client: FlaskClient, case_id: str, action: str, version: int, **data: Any) -> Any:
    page = f"/console/cases/{case_id}"
    return post_form(
        client, f"/console/cases/{case_id}/act/{action}", page, version=str(version), **data
    )


def text(resp: Any) -> str:
    return resp.get_data(as_text=True)  # type: ignore[no-any-return]
