"""One JSON error shape for every 4xx/5xx: ``{code, message, message_zh, errors}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from shared_models.errors import CgtError, Conflict, render

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "version_conflict",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "validation_failed",
    429: "rate_limited",
}


def error_body(code: str, errors: Any = None, **params: Any) -> dict[str, Any]:
    en, zh = render(code, params)
    return {"code": code, "message": en, "message_zh": zh, "errors": errors or {}}


def _json(body: dict[str, Any], status: int) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CgtError)
    def _cgt_error(err: CgtError) -> Response:
        return _json(err.to_dict(), err.status)

    @app.errorhandler(StaleDataError)
    def _stale(err: StaleDataError) -> Response:
        return _json(Conflict(current="?").to_dict(), 409)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
        errors: Any = {}
        data = getattr(err, "data", None)  # webargs puts field messages here
        if isinstance(data, dict) and "messages" in data:
            messages = data["messages"]
            # webargs nests by location ("json", "query", ...); flatten a single location.
            if isinstance(messages, dict) and len(messages) == 1:
                errors = next(iter(messages.values()))
            else:
                errors = messages
        resp = _json(error_body(code, errors), status)
        if status == 405 and getattr(err, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(err.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _json(error_body("internal_error"), 500)
