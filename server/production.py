"""The app as a server process runs it (``server.wsgi``, and the intake bench's server).

``create_app`` leaves ~140k objects the cyclic garbage collector tracks (the app and its
routes, SQLAlchemy's metadata and mappers, marshmallow schemas, the OpenAPI spec) that live
as long as the process. Every full (generation 2) collection walked them all: ~70 ms, a few
times per thousand requests, each one an intake request's 80–100 ms outlier. ``gc.freeze()``
moves them to the permanent generation, which no collection scans; collections then walk only
what requests made. No ``gc.collect()`` first: it frees next to nothing here (16 objects) and
Python's docs advise against freeing holes among the objects about to be frozen; with it the
intake over HTTP was slower than without the freeze in 5 of 6 interleaved runs, without it
not (docs/PERFORMANCE.md, intake, "Sixth cut").

Under gunicorn this runs in each worker as it imports ``server.wsgi``; with ``--preload`` it
runs once in the master and the workers inherit the frozen objects at fork (and, since the
collector no longer writes to them, share their memory pages longer).
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask

from . import create_app


def production_app(test_config: dict[str, Any] | None = None) -> Flask:
    """``create_app(test_config)`` with its startup objects moved out of the collector's way."""
    app = create_app(test_config)
    gc.freeze()
    return app
