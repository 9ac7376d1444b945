"""A real server process for the end-to-end sync test: ``python -m tests.sync_server.serve``.

Usage: ``serve <database-url> <port> <photo-dir>``; builds the schema, loads the demo city
and serves the app on 127.0.0.1:<port> until killed.
"""

from __future__ import annotations

import logging
import sys

from server import create_app
from server.db import database
from server.models import Base
from server.services.auth import hasher
from server.services.demo import load_demo_city


def main(url: str, port: int, photos: str) -> None:
    app = create_app(
        {
            "DATABASE_URL": url,
            "PHOTO_DIR": photos,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    db = database(app)
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        load_demo_city(s, hasher(app.config))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print("ready", flush=True)
    app.run("127.0.0.1", port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
