"""The production entry (server.wsgi → server.production): the startup objects are frozen out
of the cyclic garbage collector's scans, gunicorn serves it with or without ``--preload``, and
the intake bench's server is built by the same function."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bench import intake

from .servers import free_port, stop_cleanly, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_LIMIT_S = 120.0  # a hang guard for a loaded machine, not a speed test


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cgt.sqlite3'}",
        "CGT_PHOTO_DIR": str(tmp_path / "photos"),
        "CGT_SECRET_KEY": "production-entry-test",
    }


def test_the_production_entry_freezes_its_startup_objects(tmp_path: Path) -> None:
    probe = (
        "import gc, server.wsgi; "
        "print(gc.get_freeze_count(), len(gc.get_objects()), server.wsgi.app.name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=production_env(tmp_path),
        check=True, capture_output=True, text=True, timeout=START_LIMIT_S,
    ).stdout.split()  # fmt: skip
    frozen, tracked = int(out[0]), int(out[1])
    assert out[2] == "server"
    # ~140k objects live as long as the process; a full collection no longer walks them
    assert frozen > 50_000 and tracked < frozen / 5, (frozen, tracked)


def test_the_bench_server_is_built_like_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freezes: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(1))  # not this test process
    app = intake.served_app_for(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    assert freezes == [1]
    assert "bench_bare_post" in app.view_functions


@pytest.mark.parametrize("preload", [False, True], ids=["per-worker", "preload"])
def test_gunicorn_serves_the_entry_with_or_without_preload(tmp_path: Path, preload: bool) -> None:
    env = production_env(tmp_path)
    subprocess.run(
        [str(BIN / "flask"), "--app", "server", "cgt", "db-upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=START_LIMIT_S,
    )  # fmt: skip
    port = free_port()
    cmd = [
        str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "2",
        "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--timeout", "60",
        *(["--preload"] if preload else []), "server.wsgi:app",
    ]  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, proc, time.monotonic() + START_LIMIT_S)
            codes = []
            for _ in range(10):  # a new connection each: either worker may answer
                refused = requests.post(
                    f"{base}/api/auth/login",
                    json={"username": "nobody", "password": "wrong", "device_id": "probe"},
                    timeout=10,
                )
                assert "Set-Cookie" not in refused.headers
                codes.append(refused.json()["code"])
            # the failed attempts are counted in the database the workers share after the fork
            first_limited = codes.index("login_too_many_attempts")
            assert first_limited > 0 and set(codes[:first_limited]) == {"bad_credentials"}, codes
            assert set(codes[first_limited:]) == {"login_too_many_attempts"}, codes
        finally:
            stop_cleanly(proc, log_path)
