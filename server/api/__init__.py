"""HTTP edge: flask-smorest Api, blueprints, the one JSON error shape."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .errors import register_error_handlers


def init_app(app: Flask) -> Api:
    api = Api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "Device access token"}
    )
    register_error_handlers(app)

    from . import assessment, auth, cases, city, indicator_charts, indicators, photos, queue, sync

    modules = (auth, cases, queue, city, photos, sync, indicators, indicator_charts, assessment)
    for module in modules:
        api.register_blueprint(module.blp)
    sync.init_app(app)

    from . import open311

    app.register_blueprint(open311.bp)
    app.extensions["cgt_api"] = api
    return api
