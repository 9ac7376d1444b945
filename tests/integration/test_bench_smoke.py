"""The benchmarks still run: each one at a tiny size on SQLite (figures are not checked here;
the real runs and their results are in docs/PERFORMANCE.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import console, indicators, intake, push_floor, queue, sync


@pytest.fixture(autouse=True)
def scratch_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bench.common.SCRATCH", tmp_path)


@pytest.fixture(autouse=True)
def thaw() -> Iterator[None]:
    """The in-process benches build their app as a server does, which freezes every object
    alive (server.production); hand them back to the collector so this test process does
    not keep the tests' garbage for good."""
    yield
    gc.unfreeze()


def test_queue_bench_runs_every_view(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--sizes", "1000", "--deep", "3", "--repeats", "1"]
    assert queue.main(args) == 0
    out = capsys.readouterr().out
    for view in queue.VIEWS:
        assert f"| {view.name} |" in out
    assert "worst page" in out


def test_intake_bench_serves_and_compares(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--requests", "60", "--rounds", "2", "--profile", "20"]
    assert intake.main([*args, "--in-process", "100"]) == 0
    out = capsys.readouterr().out
    assert "intake/GET" in out
    assert "SQL statements per intake request" in out
    assert "in-process (test client)" in out and "bare POST fastest" in out


def test_indicators_bench_times_every_computation(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--sizes", "500,1500", "--repeats", "1"]
    assert indicators.main(args) == 0
    out = capsys.readouterr().out
    for name in ("city, last month (target)", "per department, last month", "HTTP city"):
        assert f"| {name}" in out
    assert "**MET**" in out or "**MISSED**" in out
    assert "events per month" in out


def test_console_bench_renders_every_page(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--sizes", "2000", "--deep", "2", "--repeats", "1"]
    assert console.main(args) == 0
    out = capsys.readouterr().out
    for page in console.PAGES:
        assert f"| {page.name} |" in out
    assert "slowest page" in out


def test_sync_bench_runs_every_part(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--push", "40", "--pull", "60", "--sizes", "400,800",
            "--memory", "200", "--repeats", "2", "--explain", "--profile", "20"]  # fmt: skip
    assert sync.main(args) == 0
    out = capsys.readouterr().out
    for what in ("push 40 offline reports", "first pull of", "empty sync at 400 rows",
                 "empty sync 800 vs 400 rows", "device peak RSS pulling 200 records",
                 "push 40 offline reports, deferred: received",
                 "until all applied and settled on the device"):  # fmt: skip
        assert what in out, what
    assert "SQL statements per mutation" in out and "sync_changes" in out


def test_push_floor_bench_replays_the_pushed_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert push_floor.main(["--engine", "sqlite", "--push", "30"]) == 0
    out = capsys.readouterr().out
    assert "14.0 per report" in out and "by bare executemany" in out


def test_search_queue_bench_writes_the_rows_three_ways(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import search_queue

    assert search_queue.main(["--reports", "30", "--rounds", "1", "--intake", "20"]) == 0
    out = capsys.readouterr().out
    assert "one per transaction" in out and "one executemany" in out and "queue+flush" in out
    assert "intake in process" in out
