"""Layered configuration: defaults here → environment (``CGT_*``, ``DATABASE_URL``) →
``instance/settings.json`` → the test overrides passed to ``create_app``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    SECRET_KEY = "dev-only-secret"  # public: set CGT_SECRET_KEY in production
    DATABASE_URL = f"sqlite:///{ROOT / 'instance' / 'cgt.sqlite3'}"
    SQL_ECHO = False
    # SQLite: flush the text-search queue and checkpoint the write-ahead log in a thread of
    # the server process instead of inside every ~20th request's commit
    # (server.db.WalCheckpointer); off, the app flushes the queue every 50th commit itself.
    SQLITE_CHECKPOINT_THREAD = True
    PHOTO_DIR = str(ROOT / "instance" / "photos")
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # bytes of one request body
    PHOTO_MAX_BYTES = 10 * 1024 * 1024
    PHOTO_MAX_PIXELS = 40_000_000
    THUMB_SIZE = 320
    # Resumable photo upload (docs/photos.md): bytes of one chunk, how long an unfinished
    # upload is kept after its last chunk, how many unfinished uploads one user may have.
    PHOTO_CHUNK_MAX_BYTES = 2 * 1024 * 1024
    PHOTO_UPLOAD_TTL_HOURS = 7 * 24
    PHOTO_UPLOADS_PER_USER = 50
    # Offline sync (docs/sync-protocol.md section 6, docs/operations.md): how long the change
    # log (removals included) and the receipts of applied mutations are kept.
    SYNC_RETENTION_DAYS = 30
    SYNC_RECEIPT_RETENTION_DAYS = 30
    # Deferred pushes (docs/sync-protocol.md, rules D-*): each server process applies the
    # sync inbox in a thread of its own (server.sync_applier). Off, nothing applies it but
    # `flask cgt sync-inbox --apply` (tests drive it explicitly).
    SYNC_INBOX_APPLIER = True
    TIMEZONE = "Asia/Shanghai"
    # Working calendar used for deadlines counted in working hours (工作时).
    WORK_CALENDAR: dict[str, Any] = {
        "weekdays": [0, 1, 2, 3, 4],
        "hours": [["08:30", "12:00"], ["14:00", "18:00"]],
        "holidays": [],  # ISO dates that are days off although weekdays
        "workdays": [],  # ISO dates that are working days although weekend (调休)
    }
    DUPLICATE_RADIUS_M = 50.0
    RATING_WINDOW_DAYS = 15
    REOPEN_WINDOW_DAYS = 7
    WARN_SHARE = 0.8  # yellow light from this share of a step's time
    ACCESS_TOKEN_SECONDS = 2 * 3600
    REFRESH_TOKEN_DAYS = 60
    OTP_TTL_SECONDS = 300
    OTP_MAX_ATTEMPTS = 5
    OTP_RESEND_SECONDS = 60
    # Password sign-in (API and console, services.auth.limited_password_login): after this
    # many wrong passwords for one user name, or from one address, within the window, sign-in
    # is refused (429) until the oldest of them leaves the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (nginx: 1).
    # 0 trusts none of those headers: the peer address is the client. Behind a proxy it must
    # be set, or every request seems to come from the proxy and one office's wrong passwords
    # lock the whole staff out (LOGIN_MAX_FAILURES_PER_ADDRESS). Never set it higher than the
    # number of proxies actually there: a client could then forge its address.
    PROXY_HOPS = 0
    OTP_PROVIDER = "log"  # "log" writes the code to the server log (development)
    # Development and demo only: every code sent is this value, so scripted walkthroughs can
    # sign citizens in. Never set it on a real deployment.
    OTP_FIXED_CODE: str | None = None
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    OPEN311_JURISDICTION = "pingdingshan.example.cn"
    API_TITLE = "城管通 Chengguantong API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/swagger-ui/"
    OPENAPI_SWAGGER_UI_VERSION = "bundled"
    # The browser console (/console): a signed session cookie for one shift, CSRF tokens on
    # every form, checked by the console itself (the bearer-token API needs none).
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None  # valid as long as the session: a desk keeps a page open


_ENV_KEYS = {
    "DATABASE_URL": str,
    "CGT_PHOTO_DIR": str,
    "CGT_SECRET_KEY": str,
    "CGT_OTP_PROVIDER": str,
    "CGT_OTP_FIXED_CODE": str,
    "CGT_DUPLICATE_RADIUS_M": float,
    "CGT_REOPEN_WINDOW_DAYS": int,
    "CGT_RATING_WINDOW_DAYS": int,
    "CGT_ARGON2_TIME_COST": int,
    "CGT_ARGON2_MEMORY_COST": int,
    "CGT_PROXY_HOPS": int,
    "CGT_SYNC_INBOX_APPLIER": lambda v: v.strip().lower() in ("1", "true", "yes", "on"),
}


def load(instance_path: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {k: getattr(Defaults, k) for k in dir(Defaults) if k.isupper()}
    for key, cast in _ENV_KEYS.items():
        if key in os.environ:
            name = key.removeprefix("CGT_")
            cfg[name] = cast(os.environ[key])
    settings = Path(instance_path) / "settings.json"
    if settings.exists():
        cfg.update(json.loads(settings.read_text(encoding="utf-8")))
    if overrides:
        cfg.update(overrides)
    return cfg
