"""The SQLite search index is kept through a queue (``server/models/search.py``): triggers on
``cases`` note the changed rows, a flush indexes them in bulk, and a search reads the queue as
well as the index. Its answers are the plain ``LIKE``'s before a flush, after it, and across
many changes between two flushes; after a flush the index holds exactly the open cases' texts.

On PostgreSQL the same searches run (its index is the engine's own; ``flush`` does nothing).
The server's maintenance thread is kept from starting: every flush here is the test's own.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from server.db import Database, database
from server.models import Case, Category, search
from server.services import case_search
from sync.case_mutations import REPORT
from tests.api.case_helpers import ok, report, upload_photo
from tests.conftest import START
from tests.console.test_search_index import _add, _same
from tests.search_index import assert_index_is_exact, queued
from tests.sync_server.helpers import push, report_args


@pytest.fixture
def db(app: Any) -> Database:
    """The app's database, its maintenance thread kept from starting (it would flush at a
    time of its own): the tests flush when they mean to."""
    d = database(app)
    if d.checkpointer is not None:
        d.checkpointer.stop()
    return d


def _sqlite(db: Database) -> bool:
    return db.engine.dialect.name == "sqlite"


def _path(db: Database) -> str:
    return str(db.engine.url.database)


def _rowid(s: Any, case_id: str) -> int:
    return int(s.scalar(select(case_search._ROWID).where(Case.id == case_id)))


def _indexed(db: Database, phrase: str) -> set[int]:
    """Rowids the FTS5 index alone answers for a 3+ character phrase."""
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT rowid FROM case_search WHERE case_search MATCH ?", (f'"{phrase}"',)
        )
        return {r[0] for r in rows}


def _flush(db: Database) -> int:
    flushed = search.flush(db.engine)
    if _sqlite(db):
        assert queued(_path(db)) == []
        assert_index_is_exact(_path(db))
    return flushed


def _category(s: Any) -> str:
    return str(s.scalars(select(Category.code)).first())


def test_a_new_report_is_found_before_the_flush_and_after(app, db, client, city):
    made = ok(report(client, city["citizen"], address="青年路7号", description="井盖松动"), 201)
    cid = made["case"]["id"]
    with db.factory() as s:
        if _sqlite(db):
            rowid = _rowid(s, cid)
            assert queued(_path(db)) == [(rowid, 0, None, None)]  # new: nothing indexed yet
            assert _indexed(db, "青年路") == set()  # the index alone would miss it
        for q in ("青年路7号", "青年", "青", "井盖松动", "松"):
            assert _same(s, q) == [cid], q
        assert _flush(db) == (1 if _sqlite(db) else 0)
        if _sqlite(db):
            assert _indexed(db, "青年路") == {rowid}
        for q in ("青年路7号", "青年", "青", "井盖松动", "松"):
            assert _same(s, q) == [cid], q
        assert search.flush(db.engine) == 0  # idempotent: nothing left to do
        if _sqlite(db):
            assert_index_is_exact(_path(db))


def test_closing_editing_and_deleting_show_at_once_and_after_the_flush(app, db, city):
    with db.factory() as s:
        cat = _category(s)
        a = _add(s, cat, "长江路1号", "占道摆摊", True)
        b = _add(s, cat, "黄河路2号", "噪音扰民", True)
        c = _add(s, cat, "淮河路3号", "路灯不亮", True)
        d = _add(s, cat, "珠江路4号", "污水外溢", True)
        s.commit()
        _flush(db)
        ids = {k: x.id for k, x in zip("abcd", (a, b, c, d), strict=True)}
        rowids = {k: _rowid(s, v) for k, v in ids.items()} if _sqlite(db) else {}

        a.step_deadline, a.state = None, "closed"  # closing: out of the results at once
        b.description = "油烟扰民"  # an edit through the ORM
        s.commit()
        s.execute(update(Case).where(Case.id == ids["c"]).values(address="嘉陵路3号"))  # bulk
        s.execute(delete(Case).where(Case.id == ids["d"]))
        s.commit()
        b.description = "油烟直排"  # a second edit: the queue keeps what the index holds
        s.commit()

        gone = ("长江路", "噪音扰民", "淮河路", "珠江路", "污水", "油烟扰民")
        here = {"油烟直排": [ids["b"]], "嘉陵路": [ids["c"]], "路灯不亮": [ids["c"]]}
        if _sqlite(db):
            # The index is still as at the flush; the queue holds what it has for each row.
            assert _indexed(db, "长江路") == {rowids["a"]} and _indexed(db, "油烟") == set()
            assert sorted(queued(_path(db))) == sorted(
                [
                    (rowids["a"], 1, "长江路1号", "占道摆摊"),
                    (rowids["b"], 1, "黄河路2号", "噪音扰民"),
                    (rowids["c"], 1, "淮河路3号", "路灯不亮"),
                    (rowids["d"], 1, "珠江路4号", "污水外溢"),
                ]
            )
        for flushed in (False, True):
            if flushed:
                _flush(db)
            for q in gone:
                assert _same(s, q) == [], (q, flushed)
            for q, want in here.items():
                assert _same(s, q) == want, (q, flushed)
            for q in ("路", "河路", "扰民", "直排", "灯"):
                _same(s, q)

        a.step_deadline, a.state = START + timedelta(hours=1), "reworking"  # reopened
        s.commit()
        assert _same(s, "长江路") == [ids["a"]]
        _flush(db)
        assert _same(s, "长江路") == [ids["a"]]


def test_a_rowid_freed_by_a_delete_and_taken_again(app, db, city):
    """SQLite gives a new row the highest rowid + 1: after deleting the last case, the next
    one takes its rowid while the index still holds the deleted case's texts for it."""
    with db.factory() as s:
        cat = _category(s)
        old = _add(s, cat, "太行路9号", "树木倒伏", True)
        s.commit()
        _flush(db)
        old_rowid = _rowid(s, old.id) if _sqlite(db) else 0
        s.delete(old)
        s.commit()
        new = _add(s, cat, "太白路9号", "积水严重", True)
        s.commit()
        if _sqlite(db):
            assert _rowid(s, new.id) == old_rowid
            assert queued(_path(db)) == [(old_rowid, 1, "太行路9号", "树木倒伏")]
        for flushed in (False, True):
            if flushed:
                _flush(db)
            assert _same(s, "太行路") == [] and _same(s, "树木") == []
            assert _same(s, "太白路") == [new.id] and _same(s, "积水") == [new.id]
            assert _same(s, "太") == [new.id]


def test_many_reports_in_one_push_and_one_statement_are_all_found(app, db, client, city):
    """The sync push's bulk path (one INSERT for a run of reports) and an ``executemany`` of
    300 rows in one transaction: every row findable before the flush, and after it."""
    photo = upload_photo(client, city["inspector"])  # an inspector's report shows evidence
    reports = [
        (n + 1, REPORT, report_args(address=f"推送巷{n:02d}号", photos=[photo])) for n in range(25)
    ]
    results = push(client, city["inspector"], "bulk-device", *reports).json["results"]
    assert [r["status"] for r in results] == ["applied"] * 25, results
    pushed = {f"推送巷{n:02d}号": r["result"]["case_id"] for n, r in enumerate(results)}
    with db.factory() as s:
        cat = _category(s)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "state": "reported",
                "source": "hotline",
                "category_code": cat,
                "lat": 34.0,
                "lon": 113.0,
                "address": f"批量街{n:03d}号",
                "description": "一次写入",
                "step": "register",
                "step_deadline": START + timedelta(minutes=n),
                "step_warn_at": START,
                "created_at": START,
                "updated_at": START,
            }
            for n in range(300)
        ]
        s.execute(insert(Case), rows)
        s.commit()
        if _sqlite(db):
            assert len(queued(_path(db))) == 325
            assert _indexed(db, "批量街") == set() and _indexed(db, "推送巷") == set()
        for flushed in (False, True):
            if flushed:
                assert _flush(db) == (325 if _sqlite(db) else 0)
            for address, cid in pushed.items():
                assert _same(s, address) == [cid], (address, flushed)
            for n in range(0, 300, 37):
                assert _same(s, f"批量街{n:03d}号") == [rows[n]["id"]], (n, flushed)
            everyone = s.scalars(select(Case.id).where(Case.address.like("批量街%")))
            assert set(everyone) == {r["id"] for r in rows}
            if _sqlite(db):
                assert len(case_search.sqlite_candidates(s, "批量街") or []) == 300
                assert len(case_search.sqlite_candidates(s, "一次写入") or []) == 300


def test_too_many_queued_matches_leave_the_index_aside(app, db, city, monkeypatch):
    monkeypatch.setattr(case_search, "CANDIDATES", 3)
    with db.factory() as s:
        if not _sqlite(db):
            pytest.skip("the queue is SQLite's")
        cat = _category(s)
        for n in range(5):
            _add(s, cat, f"滨河路{n}号", "垃圾", True)
        s.commit()
        assert case_search.sqlite_candidates(s, "滨河路") is None  # 5 queued matches > 3
        assert case_search.sqlite_candidates(s, "滨河路2号") is not None
        assert len(_same(s, "滨河路")) == 5
        _flush(db)
        assert case_search.sqlite_candidates(s, "滨河路") is None  # 5 indexed matches > 3
        assert len(_same(s, "滨河路")) == 5


def test_queued_matches_are_looked_up_by_rowid(app, db, city):
    """The queue is read by rowid look-ups into ``cases``, never by scanning ``cases``."""
    with db.factory() as s:
        if not _sqlite(db):
            pytest.skip("the queue is SQLite's")
        sql = case_search._queued("滨河路").compile(
            dialect=s.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        plan = [r[-1] for r in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert any("SEARCH cases USING INTEGER PRIMARY KEY" in p for p in plan), plan
    assert not any(p.startswith("SCAN cases") for p in plan), plan


def test_without_the_thread_the_app_flushes_every_few_commits(app, db, city, monkeypatch):
    """A server with ``SQLITE_CHECKPOINT_THREAD`` off keeps the queue bounded: every
    ``INLINE_EVERY``-th commit of a session runs the flush itself."""
    if not _sqlite(db):
        pytest.skip("the queue is SQLite's")
    monkeypatch.setattr(Database, "INLINE_EVERY", 3)
    inline = Database(db.url, maintenance=(search.maintain,))  # as init_app, no thread
    assert inline.checkpointer is None
    try:
        with inline.factory() as s:
            cat = _category(s)
            s.commit()  # 1
            for n in (2, 3, 4):
                _add(s, cat, f"内联路{n}号", "测试", True)
                s.commit()
                assert len(queued(_path(db))) == {2: 1, 3: 0, 4: 1}[n], n
        assert search.flush(inline.engine) == 1
        assert_index_is_exact(_path(db))
    finally:
        inline.dispose()


def test_a_busy_app_flushes_only_a_queue_worth_the_write_lock(app, db, city, monkeypatch):
    """``maintain`` (the thread's task): while busy, only from ``BUSY_FLUSH_ROWS`` queued
    rows on; when idle, whatever is queued."""
    if not _sqlite(db):
        pytest.skip("the queue is SQLite's")
    monkeypatch.setattr(search, "BUSY_FLUSH_ROWS", 3)
    with db.factory() as s:
        cat = _category(s)
        for n in range(2):
            _add(s, cat, f"繁忙路{n}号", "测试", True)
        s.commit()
    conn = sqlite3.connect(_path(db), isolation_level=None)
    try:
        assert search.maintain(conn, busy=True) == 0 and len(queued(_path(db))) == 2
        with db.factory() as s:
            _add(s, _category(s), "繁忙路2号", "测试", True)
            s.commit()
        assert search.maintain(conn, busy=True) == 3 and queued(_path(db)) == []
        with db.factory() as s:
            _add(s, _category(s), "空闲路1号", "测试", True)
            s.commit()
        assert search.maintain(conn, busy=False) == 1 and queued(_path(db)) == []
    finally:
        conn.close()
    assert_index_is_exact(_path(db))
