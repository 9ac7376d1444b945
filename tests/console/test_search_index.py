"""The text search through the trigram index answers exactly what the plain LIKE answers.

On both engines: Chinese and ASCII, 1-, 2- and 3+-character queries, text at the start and
the very end of a field, %, _, ', " and the escape character taken literally, no match; and
the index follows inserts, edits, a case closing and reopening, and deletes (on SQLite the
triggers' queue, which a search reads too; PostgreSQL's GIN indexes are the engine's own).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from server.db import database
from server.models import Case, Category, search
from server.services import case_search
from server.services.actor import Actor
from server.services.queue import QueueFilter, queue
from shared_models.enums import Role
from tests.conftest import START
from tests.factories import load_city

DESK = Actor(id=None, role=Role.DISPATCHER)

TEXTS = [
    ("建设路88号", "绿化带里有建筑垃圾"),
    ("光明路12号", "垃圾桶满了，垃圾溢出"),
    ("中兴路5号东门", "井盖缺失"),
    ("人民路", "路"),  # a one-character field
    ("Main Street 7", "Broken LAMP post"),
    ("main street 70", "graffiti on wall"),
    ("100% 广场", "under_score and 50% off"),
    ("O'Brien 路 3号", 'say "hi" / back\\slash'),
    ("", "地址为空"),
    ("文化路1号", "共享单车乱停放"),
    ("文化路10号", "占道经营，油烟"),
]
CLOSED = [("建设路99号", "已办结的垃圾"), ("无人路", "closed lamp")]

QUERIES = [
    # 1 character
    "路", "垃", "号", "7", "m", "M", "%", "_", "'", '"', "\\", "满", "灯", "x",
    # 2 characters
    "垃圾", "建设", "号东", "门", "路1", "am", "AM", "% ", "_s", "O'", "\\s", "了，", "无人",
    # 3 or more
    "建筑垃圾", "光明路", "路1号", "Main", "main street", "MAIN STREET 7", "lamp post",
    "100%", "r_sc", "O'Brien", '"hi"', "back\\slash", "不存在的地址", "已办结", "垃圾溢出",
    "共享单车乱停放", "号东门",
]  # fmt: skip


def _add(s: Any, cat: str, address: str, description: str, open_: bool) -> Case:
    c = Case(
        id=str(uuid.uuid4()),
        version=1,
        state="reported" if open_ else "closed",
        source="hotline",
        category_code=cat,
        lat=34.0,
        lon=113.0,
        address=address,
        description=description,
        step="register" if open_ else None,
        step_deadline=START + timedelta(hours=len(description)) if open_ else None,
        step_warn_at=START if open_ else None,
        created_at=START,
        updated_at=START,
    )
    s.add(c)
    return c


@pytest.fixture
def cases(app: Any) -> dict[str, Case]:
    load_city(app)
    with database(app).factory() as s:
        cat = s.scalars(select(Category.code)).first()
        made = {a + d: _add(s, cat, a, d, True) for a, d in TEXTS}
        made |= {a + d: _add(s, cat, a, d, False) for a, d in CLOSED}
        s.commit()
        # The index itself answers here (test_search_queue.py: the changes not yet flushed).
        search.flush(database(app).engine)
        return {k: c.id for k, c in made.items()}


def _search(s: Any, q: str) -> list[str]:
    rows, nxt = queue(s, DESK, QueueFilter(text=q), START, 100, None)
    assert nxt is None
    return [c.id for c in rows]


def _plain(s: Any, q: str) -> list[str]:
    """The search as it was before the index: the LIKE alone, in deadline order."""
    stmt = (
        select(Case.id)
        .where(Case.step_deadline.is_not(None), case_search.like(q))
        .order_by(Case.step_deadline, Case.id)
    )
    return list(s.scalars(stmt))


def _same(s: Any, q: str) -> list[str]:
    got = _search(s, q)
    assert got == _plain(s, q), q
    return got


def test_indexed_search_answers_exactly_the_like(app, cases):
    with database(app).factory() as s:
        found = {q: _same(s, q) for q in QUERIES}
    # Not a comparison of two empty lists: the figures worked out by hand.
    assert len(found["路"]) == 7  # 建设路 光明路 中兴路 人民路 O'Brien 路 文化路×2
    assert len(found["垃圾"]) == 2 and len(found["垃"]) == 2  # the closed one is not searched
    assert len(found["号东"]) == 1 and len(found["门"]) == 1  # text at the end of a field
    assert len(found["%"]) == 1 and len(found["_"]) == 1 and len(found["'"]) == 1
    assert found["不存在的地址"] == [] and found["已办结"] == [] and found["无人"] == []
    assert len(found["共享单车乱停放"]) == 1  # a whole field
    sqlite = s.get_bind().dialect.name == "sqlite"
    # SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does not (as before).
    assert len(found["MAIN STREET 7"]) == (2 if sqlite else 0)
    assert len(found["main street"]) == (2 if sqlite else 1)


def test_sqlite_uses_the_index(app, cases):
    with database(app).factory() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL's planner picks its GIN index itself")
        assert case_search.sqlite_candidates(s, "不存在的地址") == []
        assert case_search.sqlite_candidates(s, "无") == []
        assert len(case_search.sqlite_candidates(s, "垃圾")) == 2
        assert len(case_search.sqlite_candidates(s, "路")) == 7
        # ASCII folded by the index, re-checked by LIKE; a cased non-ASCII letter scans.
        assert len(case_search.sqlite_candidates(s, "lamp")) == 1
        assert case_search.sqlite_candidates(s, "É") is None
        plan = " ".join(
            str(r[-1])
            for r in s.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT rowid FROM case_search "
                    "WHERE case_search MATCH '\"垃圾桶\"'"
                )
            )
        )
        assert "VIRTUAL TABLE INDEX" in plan


def test_too_many_candidates_falls_back_to_the_scan(app, cases, monkeypatch):
    monkeypatch.setattr(case_search, "CANDIDATES", 3)
    with database(app).factory() as s:
        # (PostgreSQL: "路" has 7 > 3 candidates: the plain LIKE; "垃圾" 2: the gram index)
        if s.get_bind().dialect.name == "sqlite":
            assert case_search.sqlite_candidates(s, "路") is None
            assert case_search.sqlite_candidates(s, "号") is None
        for q in ("路", "号", "垃圾", "Main"):
            _same(s, q)


def test_index_follows_inserts_edits_closing_reopening_and_deletes(app, cases):
    with database(app).factory() as s:
        cat = s.scalars(select(Category.code)).first()
        new = _add(s, cat, "新华路66号", "护栏损坏", True)
        s.commit()
        assert _same(s, "护栏") == [new.id] and _same(s, "新华路66") == [new.id]

        new.description = "路灯不亮"  # an edit: the old words go, the new ones come
        s.commit()
        assert _same(s, "护栏") == [] and _same(s, "路灯不亮") == [new.id]

        new.step_deadline, new.state = None, "closed"  # closing takes it out of the search
        s.commit()
        assert _same(s, "路灯不亮") == [] and _same(s, "新华路66") == []

        new.step_deadline, new.state = START + timedelta(hours=2), "reworking"  # reopened
        s.commit()
        assert _same(s, "路灯不亮") == [new.id]

        # A bulk UPDATE outside the ORM is followed too (triggers, not ORM events).
        s.execute(update(Case).where(Case.id == new.id).values(address="东风路1号"))
        s.commit()
        assert _same(s, "新华路") == [] and _same(s, "东风路") == [new.id]

        s.delete(s.get(Case, new.id))
        s.commit()
        assert _same(s, "东风路") == [] and _same(s, "路灯") == []
        for q in QUERIES:  # and nothing else moved
            _same(s, q)
