"""The API's Blueprint: a query parameter the endpoint does not know is refused, not ignored.

webargs ignores unknown query parameters by default. For a city's case lists and statistics that
turns a misspelt filter (``monht=2026-10``) into a silently wrong answer, so every ``/api``
endpoint refuses it with 422 and the bilingual "Unknown field" message, as bodies already are.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser


class StrictQueryParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012 (webargs' own class attribute)
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictQueryParser()
