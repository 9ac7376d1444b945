"""Production shape: several gunicorn workers serve the API from one migrated PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .pg import scratch_database
from .servers import free_port, stop_cleanly, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# A hang guard, not a speed test (speed is measured in bench/): generous for a loaded machine.
START_LIMIT_S = 120.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A migrated scratch database behind three gunicorn workers; yields the base URL."""
    with scratch_database("cgt_gunicorn") as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CGT_PHOTO_DIR": str(tmp_path / "photos"),
            "CGT_SECRET_KEY": "gunicorn-test",
        }
        subprocess.run(
            [str(BIN / "flask"), "--app", "server", "cgt", "db-upgrade"],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=START_LIMIT_S,
        )  # fmt: skip
        port = free_port()
        log = (tmp_path / "gunicorn.log").open("wb")
        proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"), "-w", "3", "-b", f"127.0.0.1:{port}",
                "--graceful-timeout", "5", "--timeout", "30", "server.wsgi:app",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, proc, time.monotonic() + START_LIMIT_S)
            yield base
        finally:
            log.close()
            stop_cleanly(proc, tmp_path / "gunicorn.log")


def test_workers_serve_docs_and_structured_errors(served: str) -> None:
    with requests.Session() as http:
        for _ in range(30):
            docs = http.get(f"{served}/api/openapi.json", timeout=5)
            assert docs.status_code == 200
            assert docs.json()["info"]["title"].startswith("城管通")

            missing = http.get(f"{served}/api/no-such-thing", timeout=5)
            assert missing.status_code == 404
            body = missing.json()
            assert set(body) == {"code", "message", "message_zh", "errors"}
            assert body["code"] == "not_found"
