"""Signing in and out of the console, the language switch, and who may use which page.

Staff sign in with the same username and argon2 password as on the API
(``services.auth.password_login``). The signed session cookie holds only the user id; the
user is read again on every request, so a disabled account or a changed role takes effect at
once. Citizens, merchants and inspectors use the app, not the console.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from shared_models.enums import Role
from shared_models.errors import CgtError, Forbidden, NotAuthenticated

from .. import clock
from ..db import session as db_session
from ..models import User
from ..services import auth as auth_service
from ..services.actor import Actor
from . import bp, csrf
from .i18n import LANGS, error_text, t

F = TypeVar("F", bound=Callable[..., Any])
CONSOLE_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN, Role.HANDLER})
DESK = frozenset({Role.DISPATCHER, Role.ADMIN})
OPEN_ENDPOINTS = {"console.login", "console.static", "console.language"}


def home_url(actor: Actor) -> str:
    if actor.role is Role.HANDLER:
        return url_for("console.queue", view="todo")
    return url_for("console.queue", view="new")


def safe_next(target: str | None) -> str | None:
    """Only a path inside the console, never another site (open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return None
    return target


def signed_in_actor() -> bool:
    """Put the session's user on ``g.actor`` when they may use the console; True if so."""
    user_id = session.get("uid")
    user = db_session().get(User, user_id) if isinstance(user_id, int) else None
    if user is not None and (not user.active or Role(user.role) not in CONSOLE_ROLES):
        session.clear()
        user = None
    if user is None:
        return False
    # current_actor() of the API layer reads g.actor, so shared helpers see this user.
    g.actor = Actor(user.id, Role(user.role), user.department_id, user.display_name)
    return True


@bp.before_request
def _load_actor() -> Response | None:
    if request.method == "POST":
        csrf.protect()
    if signed_in_actor():
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


def desk_only(view: F) -> F:
    """The command centre's pages: dispatchers and admins (值班长)."""

    @functools.wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if actor().role not in DESK:
            raise Forbidden()
        return view(*args, **kwargs)

    return inner  # type: ignore[return-value]


# Everything a page loads comes from this server: no inline script, nothing from elsewhere.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.after_request
def page_headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"  # pages show reporters' phone numbers
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    nxt = safe_next(request.values.get("next"))
    if "actor" in g:
        return redirect(nxt or home_url(actor()))
    if request.method == "GET":
        return render_template("console/login.html", next=nxt)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:256]
    s = db_session()
    try:
        if not username or not password:
            raise NotAuthenticated("bad_credentials")
        hasher = auth_service.hasher(current_app.config)
        limits = auth_service.LoginLimits.from_config(current_app.config)
        address = request.remote_addr or "?"
        user = auth_service.limited_password_login(
            s, username, password, hasher, address, limits, clock.now()
        )
        if Role(user.role) not in CONSOLE_ROLES:
            s.rollback()
            return _refused(t("login.not_console"), username, nxt, 403)
    except NotAuthenticated as err:
        s.commit()  # a wrong password counts towards the attempt limit (one rule with the API)
        return _refused(error_text(err), username, nxt, err.status)
    except CgtError as err:
        s.rollback()
        return _refused(error_text(err), username, nxt, err.status)
    s.commit()  # a password hash upgraded to the current argon2 cost
    lang = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session.permanent = True
    session["uid"] = user.id
    if lang:
        session["lang"] = lang
    target = nxt or home_url(Actor(user.id, Role(user.role), user.department_id))
    return redirect(target, code=303)


def _refused(error: str, username: str, nxt: str | None, status: int) -> Any:
    page = render_template("console/login.html", next=nxt, error=error, username=username)
    return page, status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("console.login"), code=303)


@bp.route("/language/<lang>")
def language(lang: str) -> Response:
    if lang in LANGS:
        session["lang"] = lang
    return redirect(safe_next(request.args.get("next")) or url_for("console.login"))


@bp.route("/")
def index() -> Response:
    return redirect(home_url(actor()))
