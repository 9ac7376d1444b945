"""Starting real server processes on loopback for integration tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(base: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll the OpenAPI document until the server answers, it dies, or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early with {proc.returncode}")
        try:
            requests.get(f"{base}/api/openapi.json", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or listening while workers still import the app.
            time.sleep(0.1)
    raise AssertionError("the server did not start listening in time")


def stop_cleanly(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """SIGTERM a server (gunicorn: graceful) and check it exited 0 with no traceback logged."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    output = log_path.read_text(errors="replace")
    assert code == 0, output
    assert "Traceback" not in output, output
