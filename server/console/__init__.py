"""The command-centre console (指挥中心控制台): server-rendered pages at ``/console``.

The desk (受理员/派遣员 ``dispatcher``, 值班长 ``admin``) accepts, dispatches, merges and
supervises; department handlers (``handler``) work their own list. Pages are Jinja templates
with a little JavaScript; every action calls the same use cases as the REST API
(``server.services.cases``), so one rule set and one version check govern both. Staff sign
in with their API account into a signed session cookie; every form carries a CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    # Importing the view modules registers their routes on ``bp``.
    from . import (  # noqa: F401
        assessment,
        case_page,
        errors,
        indicators,
        lists,
        map_page,
        present,
        session,
        supervision,
    )
    from .errors import flat_errors, http_error
    from .i18n import install

    install(app)
    app.jinja_env.filters["flat_errors"] = flat_errors
    app.register_blueprint(bp)
    # An unknown /console/... URL reaches no console view: answer it as a console page.
    app.extensions.setdefault("cgt_error_formats", {})[f"{bp.url_prefix}/"] = http_error
