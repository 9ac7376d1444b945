"""On PostgreSQL a first pull finds a user's records through the GIN index on the audience
tags, and a pull with nothing new stays on the primary key (docs/operations.md)."""

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
    first = section(out, "first pull (records_after), with GIN")
    assert "Bitmap Index Scan on ix_sync_records_audience" in first
    assert "ix_sync_records_audience" not in section(out, "first pull (records_after), without")
    assert "pk_sync_changes" in section(out, "nothing new (changes_after), with GIN")
