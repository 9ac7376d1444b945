"""Flask's signed-cookie session, opened at no cost by requests that carry no cookie.

Only the console (/console) keeps anything in the session; the JSON API authenticates with
bearer tokens and its clients send no cookie. Flask's ``SecureCookieSessionInterface`` builds
an itsdangerous serializer for every request before it looks for the cookie, and parses the
Cookie header even when there is none: a few percent of a small API request. This subclass
(installed as ``app.session_interface``, Flask's extension point for sessions) answers a
request without a Cookie header with an empty session at once, builds the serializer once per
secret key (and fallbacks) instead of once per request, and skips saving a session nobody
touched. Signing, the cookie's name and attributes, expiry and key rotation are Flask's own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        # (secret key, fallbacks) → serializer; one slot, rebuilt when the keys change
        self._signing: tuple[Any, URLSafeTimedSerializer | None] = (None, None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._signing
        if cached_keys != keys:
            serializer = super().get_signing_serializer(app)
            self._signing = (keys, serializer)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.environ.get("HTTP_COOKIE") and app.secret_key:
            return self.session_class()  # what Flask answers when the session cookie is missing
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.accessed and not session.modified:
            return  # Flask would only read the cookie settings and return
        super().save_session(app, session, response)
