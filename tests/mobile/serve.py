"""``python -m tests.mobile.serve <folder> <port>``: the demo server for the app's benchmarks and
end-to-end test, in a process of its own (SQLite under <folder>, SMS code 123456)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .helpers import demo_app


def main(folder: str, port: int) -> None:
    app = demo_app(Path(folder))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run("127.0.0.1", port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
