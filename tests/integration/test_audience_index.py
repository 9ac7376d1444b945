"""On PostgreSQL every pull finds a user's rows through the scope index (``sync_record_tags``,
``sync_change_tags``), and would not use GIN indexes on the audience arrays if they were
there again (docs/operations.md, "Sync indexes")."""

from __future__ import annotations

import os

import pytest

from bench import audience_index, index_usage


def section(out: str, title: str) -> str:
    start = out.index(f"== {title}")
    end = out.find("\n== ", start + 1)
    return out[start : end if end != -1 else None]


@pytest.mark.skipif(not os.environ.get("CGT_TEST_PG_URL"), reason="needs PostgreSQL")
@pytest.mark.parametrize("gin", [False, True])
def test_pulls_use_the_indexes_they_should(capsys: pytest.CaptureFixture[str], gin: bool) -> None:
    args = ["--rows", "100000", "--users", "10000"] + (["--gin"] if gin else [])
    assert audience_index.main(args) == 0
    out = capsys.readouterr().out
    for pull in ("first pull (records_after)", "log from 0 (changes_after)",
                 "nothing new (changes_after)"):  # fmt: skip
        plan = section(out, pull)
        index = "pk_sync_record_tags" if "records_after" in pull else "pk_sync_change_tags"
        assert index in plan, plan
        assert "Seq Scan" not in plan and "_audience" not in plan, plan


@pytest.mark.skipif(not os.environ.get("CGT_TEST_PG_URL"), reason="needs PostgreSQL")
def test_the_apps_sync_workload_reads_the_scope_index(capsys: pytest.CaptureFixture[str]) -> None:
    """bench.index_usage at a small size: pushes, pulls of every role, publish and prune run,
    and the pulls seek the scope index (the audience arrays need no index of their own)."""
    assert index_usage.main(["--rows", "4000", "--push", "20", "--gin"]) == 0
    out = capsys.readouterr().out
    counts = {
        name: int(n)
        for name, n in (
            line.strip().rsplit(": ", 1)
            for line in out.split("index scans during the workload")[1].splitlines()[1:]
            if ": " in line
        )
    }
    assert counts["sync_record_tags.pk_sync_record_tags"] > 0
    assert counts["sync_change_tags.pk_sync_change_tags"] > 0
    assert "sync-prune: " in out and "dispatcher1: first pull" in out
