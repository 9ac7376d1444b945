"""``python -m sync report`` plays an inspector's device against a real server process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import DEMO_PASSWORD, INSPECTOR

from .conftest import ROOT


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_reports_offline_then_syncs(server: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync",
            "--base",
            server,
            "--user",
            INSPECTOR,
            "--password",
            DEMO_PASSWORD,
            "--store",
            str(tmp_path),
            "report",
            "--count",
            "12",
            "--photos",
            "--batch",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] and summary["applied"] == 12 and summary["refused"] == 0
    assert summary["waiting"] == 0 and summary["needs_attention"] == 0
    assert summary["pulled"] > 0 and summary["sync_seconds"] >= 0


def test_an_unreachable_server_is_a_clear_failure() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sync", "--base", "http://127.0.0.1:9", "report"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "cannot reach" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cli_pushes_deferred_and_fetches_the_outcomes(server: str, tmp_path: Path) -> None:
    """Against a real server process whose applier thread applies the inbox: the first sync
    only hands the reports over (received), the later ones fetch what became of them."""
    out = subprocess.run(
        [sys.executable, "-m", "sync", "--base", server, "--user", INSPECTOR, "--password",
         DEMO_PASSWORD, "--store", str(tmp_path), "report", "--count", "12", "--photos",
         "--defer"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] and summary["received"] == 12
    assert summary["applied"] + summary["duplicate"] == 12 and summary["refused"] == 0
    assert summary["sent"] == 0 and summary["waiting"] == 0 and summary["needs_attention"] == 0
