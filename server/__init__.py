"""城管通 server: the Flask app factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import db


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults → environment → ``instance/settings.json`` → ``test_config``."""
    app = Flask(__name__, instance_path=str(config_module.ROOT / "instance"))
    app.config.from_mapping(config_module.load(app.instance_path, test_config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    from .cookie_session import CookieSessionInterface

    app.session_interface = CookieSessionInterface()  # no cost to requests without a cookie
    logging.basicConfig(level=logging.INFO)

    from .clock import init_app as init_clock

    init_clock(app)
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        # The client's address, scheme and host as the proxy saw them (docs/operations.md).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)

    from .services import city_cache

    city_cache.install(db.database(app).factory)  # imports reach every process's cached copy

    from .api import init_app as init_api

    init_api(app)

    from .console import init_app as init_console

    init_console(app)

    from .cli import register as register_cli

    register_cli(app)
    return app


def shutdown(app: Flask) -> None:
    """Stop ``app``'s background threads (the sync applier, the SQLite maintenance thread)
    and close its database connections, waiting for a run in progress. For a process that
    builds apps and drops them (the benches, the tests): left running, a dropped app's
    threads kept polling its database after the database was removed. A server process
    simply exits."""
    applier = app.extensions.get("cgt_sync_applier")
    if applier is not None:
        applier.stop(wait=30)
    db.database(app).dispose()
