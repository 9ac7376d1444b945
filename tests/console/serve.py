"""A real server process for the console's browser tests and screenshots:
``python -m tests.console.serve <database-url> <port> <photo-dir> <clock-file> [--demo-cases]``.

Builds the schema, loads the demo city (and with ``--demo-cases`` the demo case queue), and
serves the app on 127.0.0.1:<port> until killed. Its clock is real time plus the number of
seconds written in <clock-file>, so a test can move the server into the future (deadlines
pass, cases turn red) without touching the machine's clock. Citizens sign in with the fixed
SMS code ``OTP``.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

from server import create_app
from server.api.context import calendar
from server.clock import utcnow
from server.db import database
from server.models import Base
from server.services.auth import hasher
from server.services.demo import load_demo_city
from server.services.photos import PhotoSettings

OTP = "123456"


class FileOffsetClock:
    """Real time shifted by the seconds stored in a file (absent or empty: no shift)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def __call__(self) -> datetime:
        try:
            offset = float(self.path.read_text() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return utcnow() + timedelta(seconds=offset)


def main(url: str, port: int, photos: str, clock_file: str, demo_cases: bool) -> None:
    app = create_app(
        {
            "DATABASE_URL": url,
            "PHOTO_DIR": photos,
            "CLOCK": FileOffsetClock(clock_file),
            "SECRET_KEY": "console-browser-tests",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "OTP_FIXED_CODE": OTP,
            "ACCESS_TOKEN_SECONDS": 90 * 86400,  # tokens outlive the clock's jumps
        }
    )
    db = database(app)
    Base.metadata.create_all(db.engine)
    now = app.config["CLOCK"]()
    with db.session() as s:
        load_demo_city(s, hasher(app.config), now)
    if demo_cases:
        from server.services.demo_cases import load_demo_cases

        with app.app_context(), db.session() as s:
            load_demo_cases(s, PhotoSettings.from_config(app.config), calendar(), now, app.config)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print("ready", flush=True)
    app.run("127.0.0.1", port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], int(args[1]), args[2], args[3], "--demo-cases" in sys.argv)
