"""The SQLite log is checkpointed by the server's own thread, not inside the commits."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from server.db import Database, WalCheckpointer


def _wait(until, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not until():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _rows_in_main_file(path: Path, tmp: Path) -> int:
    """Rows the database file holds by itself, without its write-ahead log (0 while not
    even the table has left the log; callers wait, so also 0 for a copy taken while the
    checkpointer was writing the file, which can be torn: "database disk image is
    malformed" — a copy made behind SQLite's locks, not the database, is broken)."""
    copy = tmp / "copy.sqlite3"
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.DatabaseError:  # OperationalError (no table yet) or a torn copy
        return 0
    finally:
        conn.close()


def test_commits_wake_a_thread_that_checkpoints_the_log(tmp_path):
    """…after its maintenance tasks (the search index's flush), each on the thread's own
    connection; one that fails is logged and keeps neither the others nor the checkpoint."""
    path = tmp_path / "db.sqlite3"
    seen: list[bool] = []

    def broken(conn: sqlite3.Connection, busy: bool) -> None:
        conn.execute("SELECT * FROM no_such_table")

    def counting(conn: sqlite3.Connection, busy: bool) -> None:
        conn.execute("SELECT count(*) FROM t").fetchone()
        seen.append(busy)

    db = Database(f"sqlite:///{path}", checkpoint_thread=True, maintenance=(broken, counting))
    assert db.checkpointer is not None
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        # the app's connections checkpoint by themselves only far later (the backstop)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == (
            WalCheckpointer.BACKSTOP
        )
    assert _rows_in_main_file(path, tmp_path) == 0  # everything is still in the log
    for i in range(2 * WalCheckpointer.EVERY):
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO t (id) VALUES (:i)"), {"i": i})
    assert _wait(lambda: db.checkpointer.checkpoints >= 1)
    assert True in seen  # a busy run (woken by commits), before the checkpoint counted
    assert _wait(lambda: _rows_in_main_file(path, tmp_path) >= WalCheckpointer.EVERY)
    thread = db.checkpointer.thread
    assert thread is not None and thread.is_alive()
    db.checkpointer.stop()
    db.engine.dispose()
    assert _wait(lambda: not thread.is_alive())


def test_without_the_thread_sqlite_checkpoints_as_usual(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert db.checkpointer is None
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    db.engine.dispose()
    assert Database("sqlite://", checkpoint_thread=True).checkpointer is None  # in memory


def test_the_thread_runs_busy_when_woken_and_idle_once_commits_went_quiet():
    """The thread's choice after each wait (its timing aside): woken by commits, a busy run;
    a wait that timed out, an idle run if commits came since the last run, else nothing."""
    checkpointer = WalCheckpointer("unused.sqlite3")  # no commit hook: no thread starts
    assert checkpointer.due(woke=False) is None  # nothing has happened
    assert checkpointer.due(woke=True) is True
    checkpointer.commits += 3
    assert checkpointer.due(woke=False) is False  # quiet now, after commits: idle run
    assert checkpointer.due(woke=False) is None  # and only once
    assert checkpointer.thread is None


def test_a_run_after_the_database_file_is_gone_leaves_no_empty_database(tmp_path, caplog):
    """A run that comes after the file was removed (an app a bench or test threw away)
    fails and says so: before, ``sqlite3.connect`` made a new empty file there and every
    task failed on it ("no such table: case_search_queue")."""
    path = tmp_path / "gone.sqlite3"
    ran: list[bool] = []
    checkpointer = WalCheckpointer(str(path), [lambda conn, busy: ran.append(busy)])
    checkpointer._start()  # as the EVERY-th commit does; the file is not there
    checkpointer._wake.set()
    assert _wait(lambda: "WAL checkpoint of" in caplog.text)
    checkpointer.stop(wait=10)
    assert checkpointer.thread is not None and not checkpointer.thread.is_alive()
    assert not path.exists() and ran == [] and checkpointer.checkpoints == 0
    assert "unable to open database file" in caplog.text


def test_dispose_ends_the_maintenance_thread_before_it_returns(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}", checkpoint_thread=True)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    for i in range(WalCheckpointer.EVERY):
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO t (id) VALUES (:i)"), {"i": i})
    assert db.checkpointer is not None and _wait(lambda: db.checkpointer.checkpoints >= 1)
    thread = db.checkpointer.thread
    assert thread is not None and thread.is_alive()
    db.dispose()
    assert not thread.is_alive()  # ended, not just told to
