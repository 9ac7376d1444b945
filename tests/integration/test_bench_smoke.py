"""The benchmarks still run: each one at a tiny size on SQLite, a PostgreSQL-only one on the
test server (figures are not checked here, only that the output is whole and adds up; the real
runs and their results are in docs/PERFORMANCE.md)."""

from __future__ import annotations

import gc
import os
import re
import shutil
import statistics
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bench import (
    console,
    gin_upkeep,
    indicators,
    intake,
    intake_phases,
    push_floor,
    queue,
    sync,
)
from bench.common import scratch_db


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
    assert "INSERT sync_records" in out  # the device copies count with the intake (L-2a)
    assert "in-process (test client)" in out and "bare POST fastest" in out
    inside = re.search(
        r"inside the app \(µs, median / mean\): bare POST (\d+) / \d+, .* intake (\d+)", out
    )
    assert inside and 0 < int(inside[1]) < int(inside[2])  # the intake works more than bare


def test_intake_phases_name_every_step_of_a_served_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--phases`` times each step the intake takes in the served worker; a step renamed or
    moved in the code shows here as a missing row (the instrumentation wraps it by name)."""
    args = ["--engine", "sqlite", "--requests", "30", "--rounds", "1", "--phases"]
    assert intake.main(args) == 0
    out = capsys.readouterr().out
    assert "per phase over 30 reports" in out  # the measured round's, not the warm-up's
    rows = dict(re.findall(r"^\| ([^|]+?) \| (\d+) \| \d+ \|$", out, re.M))
    for _, _, name in intake_phases.WRAPPED:
        assert name in rows, name
    for name in (intake_phases.COMMIT, "arguments (JSON body, marshmallow)", "view"):
        assert name in rows, name
    assert int(rows["INSERT case, event, reporter"]) > 0
    publication = re.search(
        r"^\| publication behind the answer, per report \| +\| (\d+)", out, re.M
    )
    assert publication and int(publication[1]) > 0  # the reports' device copies, timed too


def test_the_intake_rounds_publish_what_their_reports_queued() -> None:
    """``/bench/publish`` writes the device copies of the reports answered so far, so the
    intake's timing carries them (rule L-2a) and the bare rounds after it do not."""
    with scratch_db("sqlite", "cgt_bench_publish") as url:
        intake.setup_database(url)
        client, auth = intake.signed_in_client(url, intake.IN_PROCESS_PHONE)
        client.application.extensions["cgt_sync_applier"].stop()  # only the route publishes
        for body in intake.report_bodies(3, 7):
            assert client.post("/api/cases", data=body, headers=auth).status_code == 201
        assert client.post("/bench/publish").json == {"published": 3}
        assert client.post("/bench/publish").json == {"published": 0}


def test_intake_calibration_adds_the_work_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    """Each /bench/work?us=N route spends at least N µs inside the app, and each gets a share
    of the bare POST. How the shares fall with N is the machine's, measured with enough
    requests in docs/PERFORMANCE.md: with 20 requests a busy moment inverted the extremes
    (45% at 250 µs, 71% at 2,000) in about one run of 17, so it is not asserted here."""
    args = ["--engine", "sqlite", "--requests", "20", "--rounds", "1", "--calibrate"]
    assert intake.main([*args, "--workers", "2", "--threads", "0"]) == 0
    out = capsys.readouterr().out
    assert "gunicorn sync, 2 worker(s)" in out
    rows = re.findall(r"^\| (\d+) \| (\d+|nan) \| (-?\d+|nan) \| (\d+)% \|$", out, re.M)
    assert [int(r[0]) for r in rows] == list(intake.CALIBRATION_US)
    measured = [(int(r[0]), int(r[1])) for r in rows if r[1] != "nan"]
    assert measured and all(inside >= us for us, inside in measured)
    assert all(0 < int(r[3]) for r in rows)


def test_intake_bench_serves_two_builds_at_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--against DIR``: a copy of this tree (as a ``git archive`` of another commit would be)
    set up and served from DIR beside this one, by DIR's own code (the copy notes each call);
    each build gets its line, its times inside the app and its row, the row saying what the
    line says."""
    other = tmp_path / "other"
    for package in ("bench", "server", "shared_models", "sync"):
        shutil.copytree(
            intake.ROOT / package, other / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    with (other / "bench" / "intake.py").open("a") as f:
        f.write(
            "\n\ndef _noted(fn, name):\n"
            "    def call(*a):\n"
            "        (ROOT / name).touch()\n"
            "        return fn(*a)\n"
            "    return call\n\n\n"
            "setup_database = _noted(setup_database, 'set_up')\n"
            "served_app = _noted(served_app, 'served')\n"
        )
    args = ["--engine", "sqlite", "--requests", "20", "--rounds", "2", "--against", str(other)]
    assert intake.main(args) == 0
    out = capsys.readouterr().out
    assert (other / "set_up").exists() and (other / "served").exists()
    assert not (intake.ROOT / "set_up").exists() and not (intake.ROOT / "served").exists()
    for label in ("sqlite", f"sqlite, {other}"):
        line = re.search(
            rf"^  {re.escape(label)}: bare GET (\d+) req/s, bare POST (\d+) req/s, one-row commit "
            r"(\d+) req/s, intake (\d+) req/s → (\d+)% of bare GET.*\n  inside the app "
            r"\(µs, median / mean\): bare POST (\d+) / \d+, commit \d+ / \d+, intake (\d+) / \d+$",
            out,
            re.M,
        )
        assert line, label
        assert 0 < int(line[6]) < int(line[7])  # each build's intake works more than its bare
        row = re.search(
            rf"^\| {re.escape(label)} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+)%", out, re.M
        )
        assert row and row.groups() == line.groups()[:5], label
    assert out.count("\n| sqlite") == 2


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


@pytest.mark.skipif(not os.environ.get("CGT_TEST_PG_URL"), reason="needs PostgreSQL")
def test_gin_upkeep_bench_times_both_pairs_of_the_tables_it_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench.gin_upkeep at 50 rows x 4 rounds on the test server: every round is timed for
    both pairs, the medians and the ratio are those of the times, and the catalogue shows
    that every table got every row and only the twins carry the three GIN indexes."""
    admin = make_url(os.environ["CGT_TEST_PG_URL"]).set(database="postgres")
    monkeypatch.setattr("bench.common.PG_ADMIN_URL", admin.render_as_string(hide_password=False))
    rows, rounds = 50, 4
    assert gin_upkeep.main(["--rows", str(rows), "--rounds", str(rounds)]) == 0
    out = capsys.readouterr().out
    assert f"{rows} change rows and {rows} records per round, {rounds} rounds" in out
    assert f"(tables grow to {rows * rounds} rows each)" in out
    medians = {}
    for name in ("without", "with GIN"):
        timed = re.search(rf"^  {name}: median ([\d.]+) ms  \[(.*)\]$", out, re.M)
        assert timed, out
        times = [float(t) for t in timed[2].split(", ")]
        assert len(times) == rounds and min(times) > 0, times
        medians[name] = float(timed[1])
        assert medians[name] == pytest.approx(statistics.median(times), abs=0.011)
    summary = re.search(r"with GIN / without: ([\d.]+)x; the GIN upkeep (-?[\d.]+) µs", out)
    assert summary, out
    with_gin, without = medians["with GIN"], medians["without"]
    assert float(summary[1]) == pytest.approx(with_gin / without, rel=0.02, abs=0.01)
    assert float(summary[2]) == pytest.approx((with_gin - without) / rows * 1e3, abs=0.3)
    built = dict(re.findall(r"^  (\w+): (\d+ rows, \d GIN .*)$", out, re.M))
    grown, changes_gin = f"{rows * rounds} rows", ("audience", "prev_audience")
    assert built == {
        "sync_changes": f"{grown}, 0 GIN []",
        "sync_records": f"{grown}, 0 GIN []",
        "gin_changes": f"{grown}, 2 GIN {[f'ix_gin_changes_{c}' for c in changes_gin]}",
        "gin_records": f"{grown}, 1 GIN ['ix_gin_records_audience']",
    }


def test_intake_ablations_remove_what_they_name_and_nothing_else() -> None:
    """``--ablate``'s B does without exactly the named work: the report is still filed and
    answered, and without its reporter row its reporter still gets the device copy (else B
    would save the publication's work too and the figure would overstate the row's cost)."""
    from sqlalchemy import func, select, text

    from bench import intake_ablate
    from server import shutdown
    from server.db import database
    from server.models import CaseEvent, CaseReporter
    from server.models.sync import SyncRecord

    with scratch_db("sqlite", "cgt_bench_ablate_test") as url, ExitStack() as stack:
        intake.setup_database(url)
        client, auth = intake.signed_in_client(url, intake.IN_PROCESS_PHONE)
        app = client.application
        stack.callback(shutdown, app)  # before the scratch database goes, failed or not
        app.extensions["cgt_sync_applier"].stop()  # only the route publishes
        intake_ablate.prepare_b(app, ["search-trigger", "direct-args"])
        first, second = intake.report_bodies(2, 11)
        with intake_ablate.during(["report-event", "reporter-row"]):
            r = client.post("/api/cases", data=first, headers=auth)
            assert r.status_code == 201 and r.json["case"]["state"] == "reported"
            assert client.post("/bench/publish").json == {"published": 1}
        r2 = client.post("/api/cases", data=second, headers=auth)
        assert r2.status_code == 201
        assert client.post("/bench/publish").json == {"published": 1}
        with database(app).session() as s:
            for case_id, filed in ((r.json["case"]["id"], False), (r2.json["case"]["id"], True)):
                events = s.scalar(select(func.count()).where(CaseEvent.case_id == case_id))
                rows = s.scalar(select(func.count()).where(CaseReporter.case_id == case_id))
                assert (events, rows) == ((1, 1) if filed else (0, 0)), case_id
                mine = s.get(SyncRecord, ("my_reports", case_id))
                assert mine is not None and mine.audience, case_id  # the reporter's copy
            trigger = s.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'case_search_insert'")
            ).first()
            assert trigger is None


def test_a_failed_ablation_ends_its_apps_threads_before_removing_their_databases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch that fails (here: the warm-up's tenth report is refused) still shuts both apps
    down: their sync appliers, started by the reports before it, are not left polling a
    removed database."""
    from bench import intake_ablate

    apps = []
    signed_in_client, report_bodies = intake.signed_in_client, intake.report_bodies

    def recorded(url: str, phone: str) -> tuple[object, dict[str, str]]:
        client, auth = signed_in_client(url, phone)
        apps.append(client.application)
        return client, auth

    def bodies(n: int, seed: int) -> list[bytes]:
        good = report_bodies(n, seed)
        return [*good[:9], b'{"category_code": "no-such"}', *good[10:]]

    monkeypatch.setattr(intake, "signed_in_client", recorded)
    monkeypatch.setattr(intake, "report_bodies", bodies)
    with pytest.raises(AssertionError):
        intake_ablate.ablate("sqlite", ["nothing"], 1, 0)
    appliers = [app.extensions["cgt_sync_applier"] for app in apps]
    assert len(appliers) == 2 and appliers[0].thread is not None  # A's reports started it
    assert not any(a.thread is not None and a.thread.is_alive() for a in appliers)


def test_intake_ablation_prints_its_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--engine", "sqlite", "--requests", "20", "--rounds", "1"]
    assert intake.main([*args, "--ablate", "report-event", "--ablate-pairs", "2"]) == 0
    out = capsys.readouterr().out
    assert "ablation in process (sqlite, 2 pairs of 50-report batches)" in out
    assert re.search(r"B / A per report: thread CPU ×\d\.\d{3}, wall ×\d\.\d{3}", out)
    with pytest.raises(SystemExit, match="unknown"):
        intake.main([*args, "--ablate", "no-such-piece", "--ablate-pairs", "1"])


def test_intake_ablation_refuses_the_search_trigger_off_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused before any database is made (PostgreSQL keeps its search in GIN indexes)."""
    from bench import intake_ablate

    def no_database(*_: object) -> None:
        raise AssertionError("a scratch database was made")

    monkeypatch.setattr("bench.common.scratch_db", no_database)
    with pytest.raises(SystemExit, match="SQLite's"):
        intake_ablate.ablate("postgresql", ["search-trigger"], 1, 0)
