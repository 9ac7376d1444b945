"""On PostgreSQL every pull finds a user's rows through the scope index (``sync_record_tags``,
``sync_change_tags``), with or without the GIN indexes (docs/operations.md)."""

from __future__ import annotations

import os

import pytest

from bench import audience_index


def section(out: str, title: str) -> str:
    start = out.index(f"== {title}")
    end = out.find("\n== ", start + 1)
    return out[start : end if end != -1 else None]


@pytest.mark.skipif(not os.environ.get("CGT_TEST_PG_URL"), reason="needs PostgreSQL")
def test_pulls_use_the_indexes_they_should(capsys: pytest.CaptureFixture[str]) -> None:
    assert audience_index.main(["--rows", "100000", "--users", "10000"]) == 0
    out = capsys.readouterr().out
    for pull in ("first pull (records_after)", "log from 0 (changes_after)",
                 "nothing new (changes_after)"):  # fmt: skip
        for gin in ("with GIN", "without GIN"):
            plan = section(out, f"{pull}, {gin}")
            index = "pk_sync_record_tags" if "records_after" in pull else "pk_sync_change_tags"
            assert index in plan, plan
            assert "Seq Scan" not in plan, plan
