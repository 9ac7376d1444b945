"""Bearer-token authentication and role checks for views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from shared_models.enums import Role
from shared_models.errors import Forbidden, NotAuthenticated

from .. import clock
from ..db import session
from ..services import auth as auth_service
from ..services.actor import Actor

F = TypeVar("F", bound=Callable[..., Any])
BEARER = [{"bearerAuth": []}]


def auth_settings() -> auth_service.AuthSettings:
    c = current_app.config
    return auth_service.AuthSettings(
        access_seconds=c["ACCESS_TOKEN_SECONDS"],
        refresh_days=c["REFRESH_TOKEN_DAYS"],
        otp_ttl=c["OTP_TTL_SECONDS"],
        otp_max_attempts=c["OTP_MAX_ATTEMPTS"],
        otp_resend=c["OTP_RESEND_SECONDS"],
    )


def current_actor() -> Actor:
    """The signed-in actor; raises 401 when the request carries no valid token."""
    if "actor" in g:
        return g.actor
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated()
    who = auth_service.authenticate(session(), token.strip(), clock.now())
    g.actor = Actor(who.user_id, Role(who.role), who.department_id, who.display_name)
    g.device_token_id = who.token_id
    return g.actor


def requires(*roles: Role) -> Callable[[F], F]:
    """Require a signed-in user, and one of ``roles`` when given."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if roles and actor.role not in roles and actor.role is not Role.ADMIN:
                raise Forbidden()
            return view(*args, **kwargs)

        inner._apidoc = getattr(view, "_apidoc", {})  # type: ignore[attr-defined]
        doc = inner._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
        doc.setdefault("security", BEARER)
        return inner  # type: ignore[return-value]

    return wrap
