"""bench/walkthrough.py against a real server: migrated SQLite, demo loaded, fixed SMS code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import walkthrough
from server.services import demo

from .servers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "server"]
# A hang guard, not a speed test (speed is measured in bench/): generous for a loaded machine.
START_LIMIT_S = 180.0
OTP = "123456"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``flask run`` on a free loopback port over a fresh, migrated demo database."""
    tmp_path = tmp_path_factory.mktemp("walkthrough")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'walk.sqlite3'}",
        "CGT_PHOTO_DIR": str(tmp_path / "photos"),
        "CGT_OTP_FIXED_CODE": OTP,
        "CGT_SECRET_KEY": "walkthrough-test",
        "CGT_ARGON2_TIME_COST": "1",
        "CGT_ARGON2_MEMORY_COST": "1024",
    }
    for command in (["cgt", "db-upgrade"], ["cgt", "load-demo"]):
        done = subprocess.run(
            FLASK + command, cwd=ROOT, env=env, capture_output=True, timeout=START_LIMIT_S
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base, proc, time.monotonic() + START_LIMIT_S)
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = log_path.read_text(errors="replace")
    assert "Traceback" not in output, output


def test_the_walkthrough_reaches_every_state(demo_server: str, capsys) -> None:
    assert walkthrough.main(["--base", demo_server, "--otp-code", OTP]) == 0
    out = capsys.readouterr().out
    states = {line.split("→")[1].split()[0] for line in out.splitlines() if "→" in line}
    assert states >= {"reported", "verifying", "registered", "dispatched", "handling",
                      "returned", "handled", "checking", "rework", "closed", "merged",
                      "rejected"}  # fmt: skip
    assert "walkthrough OK" in out and "Public timeline" in out


def test_a_wrong_sms_code_fails_the_walk(demo_server: str, capsys) -> None:
    assert walkthrough.main(["--base", demo_server, "--otp-code", "000000"]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_the_walkthrough_knows_the_demo_city() -> None:
    """The script is a plain HTTP client; its copy of the demo facts must not drift."""
    assert walkthrough.DEMO_PASSWORD == demo.DEMO_PASSWORD
    assert set(walkthrough.PHONES) <= set(demo.CITIZEN_PHONES + demo.MERCHANT_PHONES)
    assert walkthrough.POINT == demo.cell_center("410402001001001")
    inspector = next(u for u in demo.demo_users() if u.login == walkthrough.INSPECTOR)
    assert "410402001001001" in inspector.cells
