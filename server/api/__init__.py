"""HTTP edge: flask-smorest Api, blueprints, the one JSON error shape."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import IntegerConverter, Map

from . import nul
from .errors import ErrorSchema, register_error_handlers


class CgtApi(Api):
    """flask-smorest's Api documenting the project's own error shape."""

    ERROR_SCHEMA = ErrorSchema


class IdConverter(IntegerConverter):
    """``<int:…>`` as wide as the integer id columns: a larger number is no id (404), not a 500."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> Api:
    app.url_map.converters["int"] = IdConverter  # before any route is added
    api = CgtApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "Device access token"}
    )
    register_error_handlers(app)
    nul.init_app(app)

    from . import assessment, auth, cases, city, indicator_charts, indicators, photos, queue, sync

    modules = (auth, cases, queue, city, photos, sync, indicators, indicator_charts, assessment)
    for module in modules:
        api.register_blueprint(module.blp)
    sync.init_app(app)

    from . import open311

    app.register_blueprint(open311.bp)
    app.extensions["cgt_error_formats"] = {f"{open311.bp.url_prefix}/": open311.http_error}
    app.extensions["cgt_api"] = api
    return api
