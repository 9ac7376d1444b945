"""Text with a NUL character (U+0000) is refused at the edge, on every engine alike.

PostgreSQL cannot store NUL in text (psycopg raises DataError: a 500), SQLite stores it, and
no person types one. So every request's path, query, form and JSON text is checked before a
view runs, and the answer names the fields. Sync pushes are left to the mutation schemas
(shared_models.schemas), so one bad mutation is refused alone, not the device's whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, request

from shared_models.errors import InvalidInput
from shared_models.schemas import NUL_MESSAGE, has_nul

UNGUARDED = ("/api/sync/",)
FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _json_fields(doc: Any) -> Iterator[str]:
    """Top-level names under which a NUL hides anywhere in a parsed JSON document."""
    if isinstance(doc, dict):
        yield from (str(k) for k, v in doc.items() if has_nul(k) or has_nul(v))
    elif has_nul(doc):
        yield "_schema"


def _fields_with_nul() -> Iterator[str]:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            yield name
    # The query is parsed only when it can hold a NUL: decoding makes one of "%00" (there is
    # no other escape for it) or of a raw NUL byte, so most requests skip request.args.
    query = request.environ.get("QUERY_STRING", "")
    sources = [request.args] if "%00" in query or "\x00" in query else []
    if request.mimetype in FORMS:
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            if "\x00" in (name or "") or "\x00" in (value or ""):
                yield name
    # In JSON a NUL can only be written escaped; parse only when the escape is there. The
    # body is read once: the view's own parsing reuses it (``cache=True``).
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        yield from _json_fields(request.get_json(silent=True))


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> None:
        if request.path.startswith(UNGUARDED):
            return
        found = dict.fromkeys(name or "_schema" for name in _fields_with_nul())
        if found:
            raise InvalidInput(errors={name: [NUL_MESSAGE] for name in found})
