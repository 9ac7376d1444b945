"""One JSON error shape for every 4xx/5xx: ``{code, message, message_zh, errors}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from marshmallow import Schema, fields
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


class ErrorSchema(Schema):
    """The error body as the OpenAPI document shows it (documentation only, never dumped)."""

    code = fields.String(required=True, metadata={"description": "stable, for programs"})
    message = fields.String(required=True, metadata={"description": "for people, English"})
    message_zh = fields.String(required=True, metadata={"description": "for people, 中文"})
    errors = fields.Dict(
        required=True, metadata={"description": "field name → messages (validation_failed)"}
    )


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
        # A prefix with an error format of its own (Open311) keeps it even when no route took
        # the request, so no blueprint handler was asked (an unknown method such as TRACE).
        for prefix, handler in app.extensions.get("cgt_error_formats", {}).items():
            if request.path.startswith(prefix):
                return handler(err)  # type: ignore[no-any-return]
        status = err.code or 500
        code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
        errors: Any = {}
        data = getattr(err, "data", None)  # webargs puts field messages here
        if isinstance(getattr(err, "exc", None), ValueError):
            # webargs: the body is no JSON at all (bad syntax or encoding).
            errors = {"json": ["Not valid JSON. 请求内容不是有效的JSON。"]}
        elif isinstance(data, dict) and "messages" in data:
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
