"""Errors on console pages are pages too: the reason in the viewer's language, the API's status.

The API answers JSON (``server.api.errors``); these handlers take precedence for requests
handled by the console blueprint.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import g, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from shared_models.errors import CgtError, render

from ..api.errors import HTTP_CODES
from . import bp
from .i18n import lang, t

log = logging.getLogger(__name__)


def flat_errors(errors: Any, path: str = "") -> list[tuple[str, str]]:
    """Field errors as (field path, message) pairs, however deeply the API nests them."""
    if isinstance(errors, dict):
        out: list[tuple[str, str]] = []
        for key, value in errors.items():
            out += flat_errors(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(errors, list | tuple):
        if all(isinstance(e, str) for e in errors):
            return [(path, "; ".join(errors))]
        return [pair for e in errors for pair in flat_errors(e, path)]
    return [(path, str(errors))]


def _page(
    code: str, status: int, errors: Any = None, message: str | None = None, **extra: Any
) -> Any:
    en, zh = render(code, {})
    body = render_template(
        "console/error.html",
        status=status,
        message=message or (en if lang() == "en" else zh),
        errors=errors or {},
        signed_in="actor" in g,
        **extra,
    )
    return body, status


@bp.errorhandler(CgtError)
def _cgt_error(err: CgtError) -> Any:
    return _page(
        err.code, err.status, err.errors, err.message if lang() == "en" else err.message_zh
    )


@bp.errorhandler(CSRFError)
def _csrf(err: CSRFError) -> Any:
    return _page("bad_request", 400, message=t("error.csrf"))


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException) -> Any:
    """Also for a ``/console/…`` URL no route takes (registered in ``init_app`` as the
    prefix's error format): a page in the console's look, not the API's JSON."""
    status = err.code or 500
    if request.blueprint == bp.name:
        return _page(HTTP_CODES.get(status, "bad_request"), status)
    # No console route took it: the blueprint's request hooks and helpers did not run.
    from .present import page_helpers
    from .session import page_headers, signed_in_actor

    signed_in_actor()  # the top bar and the way home for a signed-in user
    message = t("error.no_page") if status == 404 else None
    code = HTTP_CODES.get(status, "bad_request")
    resp = make_response(_page(code, status, message=message, **page_helpers()))
    return page_headers(resp)


@bp.errorhandler(Exception)
def _unexpected(err: Exception) -> Any:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _page("internal_error", 500)
