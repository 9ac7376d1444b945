"""bench/mobile.py still runs: one cold start each way and a small sync, with figures printed."""

from __future__ import annotations

import os

import pytest

from bench import mobile


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (make test has one)")
def test_the_mobile_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert mobile.main(["--starts", "1", "--records", "20", "--idle", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "cold start to sign-in screen: median" in out and "bare Kivy window" in out
    assert "sync of 20 records" in out and "the same loop idle" in out
    assert "cold start signed in, to the patrol screen (20 cases on the phone): median" in out
