"""Database plumbing: declarative base, UTC timestamps, engine and per-request session."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from sync import jsoncodec

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every engine, hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def dialect_insert(s: Session, model: Any) -> Any:
    """An INSERT of the session's dialect, which has ``on_conflict_do_nothing``."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = s.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=30000",
    # Statement journals in memory: a statement on a table with a trigger (cases: the search
    # queue) otherwise writes its journal to a temp file, ~40-70 µs per row.
    "temp_store=MEMORY",
)


def sqlite_pragmas(conn: Any, autocheckpoint: int | None = None) -> None:
    """Set every connection's SQLite settings on ``conn`` (a ``sqlite3`` connection: the
    engine's, the maintenance thread's, a bench's) and, when given, ``wal_autocheckpoint``."""
    cur = conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(f"PRAGMA {pragma}")
    if autocheckpoint is not None:
        cur.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
    cur.close()


def make_engine(url: str, echo: bool = False, autocheckpoint: int | None = None) -> Engine:
    """The engine for ``url``; on SQLite, WAL mode with ``synchronous=NORMAL``, temporary
    files (statement journals, sorts) in memory and, when given, ``wal_autocheckpoint`` pages
    (SQLite's default: 1000)."""
    # JSON columns (device records, change log, event data) through the sync engine's codec:
    # orjson, keys sorted, non-ASCII kept — ~5x faster than json's default, and Chinese text
    # stored as UTF-8 (3 bytes a character) rather than as \uXXXX escapes (6).
    codec = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads}
    # The pool hands out the connection returned last (LIFO), not the one idle longest: the
    # next request gets the connection whose page cache is warm. On SQLite a connection whose
    # page cache is older than another connection's commit reads its pages again; with two
    # idle connections a FIFO pool alternated, so every request of a steady stream found the
    # other's write (strace of a served worker: 48 reads a report, 15 with LIFO; 8-10% of a
    # report's time in process, too little to see over HTTP on a calm host; see
    # docs/PERFORMANCE.md, "Case intake"). On PostgreSQL it keeps the fewest connections
    # busy and their server-side caches warm.
    pooling = {"pool_use_lifo": True}
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            pooling = {}  # in memory: one connection per thread, no queue to order
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, **pooling, **codec)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            sqlite_pragmas(dbapi_conn, autocheckpoint)

        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10, **pooling, **codec
    )


# A maintenance task: given the thread's connection and whether the app is busy (woken by
# commits) or idle (no commit for IDLE seconds, or a command asking for everything).
Maintenance = Callable[[sqlite3.Connection, bool], object]


class WalCheckpointer:
    """Maintains a SQLite database in a thread of its own: the ``tasks`` (the search index's
    flush, ``models.search.maintain``), then a checkpoint of the write-ahead log.

    SQLite's automatic checkpoint runs inside the commit that takes the log past
    ``wal_autocheckpoint`` pages: that request copies the log into the database file and
    waits for two fsyncs (WAL mode, ``synchronous=NORMAL``). A report writes ~46 log pages,
    so every ~20th report paid that (docs/PERFORMANCE.md, "Case intake"). Here every
    ``EVERY`` commits wake a thread that runs the tasks and ``PRAGMA wal_checkpoint(PASSIVE)``
    on its own connection (the checkpoint neither waits for nor blocks readers and writers);
    the app's connections keep SQLite's automatic checkpoint at ``BACKSTOP`` pages, should the
    thread fall behind. Durability is SQLite's as before: a commit is in the log when it
    returns. A task that writes takes the write lock, which a request then waits for: the
    tasks are told whether the app is busy (woken by commits: a task may wait for more work)
    or idle (no commit for ``IDLE`` seconds, with commits since the last run: nothing waits).
    The thread starts at the ``EVERY``-th commit of its process; until then, and after an
    idle run until the next wake, the commits of the moment wait for a later run.
    """

    EVERY = 20  # commits between checkpoints
    IDLE = 1.0  # seconds without a commit before an idle run
    BACKSTOP = 10_000  # pages (~40 MB of log) before a commit checkpoints by itself

    def __init__(self, path: str, tasks: Sequence[Maintenance] = ()) -> None:
        self.path = path
        self.tasks = tuple(tasks)
        self.commits = 0
        self.checkpoints = 0
        self._done = 0  # self.commits at the last run
        self._wake = threading.Event()
        self._stopped = False
        self._pid: int | None = None  # the process whose thread runs (a fork starts its own)
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self, *_: Any) -> None:
        """Engine ``commit`` hook: count, and wake the thread every ``EVERY`` commits."""
        self.commits += 1  # a lost count under a race only delays a checkpoint
        if self.commits % self.EVERY == 0:
            if self._pid != os.getpid():
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() or self._stopped:
                return
            self._pid = os.getpid()
            self.thread = threading.Thread(target=self._run, name="cgt-wal-checkpoint", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                # A timeout only while commits came since the last run: a quiet thread sleeps.
                woke = self._wake.wait(self.IDLE if self.commits != self._done else None)
                self._wake.clear()
                if self._stopped:
                    return
                busy = self.due(woke)
                if busy is None:
                    continue
                try:
                    if conn is None:
                        conn = _open_existing(self.path)
                    run_tasks(self.tasks, conn, self.path, busy)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as error:  # the next wake tries again
                    log.warning("WAL checkpoint of %s failed: %s", self.path, error)
        finally:
            if conn is not None:
                conn.close()

    def due(self, woke: bool) -> bool | None:
        """What the thread does after its wait: a busy run (``True``, woken by commits), an
        idle run (``False``: the wait timed out and commits came since the last run), or
        nothing (``None``)."""
        commits = self.commits
        if not woke and commits == self._done:
            return None
        self._done = commits
        return woke

    def stop(self, wait: float = 0.0) -> None:
        """End the thread (after the run it is in, if any); ``wait``: seconds to wait for it."""
        self._stopped = True
        self._wake.set()
        join_thread(self.thread, wait)


def join_thread(thread: threading.Thread | None, wait: float) -> None:
    """Wait up to ``wait`` seconds for a background thread told to stop (not when it is the
    caller's own thread, or none was started)."""
    if wait and thread is not None and thread is not threading.current_thread():
        thread.join(wait)


def _open_existing(path: str) -> sqlite3.Connection:
    """The maintenance thread's connection: to the database file as it is — never a new,
    empty one (``mode=rw``), should the file be gone, so a run that comes too late fails
    instead of leaving an empty database behind."""
    uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    sqlite_pragmas(conn)
    return conn


def run_tasks(
    tasks: Sequence[Maintenance], conn: sqlite3.Connection, name: str, busy: bool
) -> None:
    """Run each maintenance task on ``conn``; a failed one is logged (the next run tries
    again) and does not keep the others from running."""
    for task in tasks:
        try:
            task(conn, busy)
        except sqlite3.Error as error:
            log.warning("maintenance of %s (%s) failed: %s", name, task.__name__, error)


def sqlite_call(engine: Engine, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn`` on the ``sqlite3`` connection of one of ``engine``'s pooled connections,
    outside any transaction (the pool resets a connection when it is returned)."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        return fn(conn)
    finally:
        raw.close()


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL, or None (not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return None if not path or path == ":memory:" or path.startswith("file:") else path


class Database:
    """The app's engine and session factory. ``checkpoint_thread``: on a SQLite file, the
    log is checkpointed by a ``WalCheckpointer`` instead of inside the commits.
    ``maintenance``: SQLite tasks (the search index's flush) run by that thread before each
    checkpoint; without the thread (turned off, or a database in memory) they run inline, as
    idle runs, after every ``INLINE_EVERY``-th commit of a session, so their work stays
    bounded."""

    INLINE_EVERY = 50  # session commits between inline maintenance runs (no thread)

    def __init__(
        self,
        url: str,
        echo: bool = False,
        checkpoint_thread: bool = False,
        maintenance: Sequence[Maintenance] = (),
    ) -> None:
        self.url = url
        self.maintenance = tuple(maintenance) if url.startswith("sqlite") else ()
        path = _sqlite_file(url) if checkpoint_thread else None
        self.checkpointer = WalCheckpointer(path, self.maintenance) if path else None
        backstop = WalCheckpointer.BACKSTOP if self.checkpointer else None
        self.engine = make_engine(url, echo, autocheckpoint=backstop)
        if self.checkpointer is not None:
            event.listen(self.engine, "commit", self.checkpointer.committed)
            weakref.finalize(self, self.checkpointer.stop)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        self._commits = 0
        if self.maintenance and self.checkpointer is None:
            event.listen(self.factory, "after_commit", self._after_commit)

    def dispose(self) -> None:
        """Done with this database: the maintenance thread ended (waiting for a run it is in)
        and the pool's connections closed. For a process that drops an app and goes on (the
        benches, the tests); a server process simply exits."""
        if self.checkpointer is not None:
            self.checkpointer.stop(wait=30)
        self.engine.dispose()

    def _after_commit(self, _session: Session) -> None:
        self._commits += 1  # a lost count under a race only delays a run
        if self._commits % self.INLINE_EVERY == 0:
            self.maintain()

    def maintain(self) -> None:
        """Run the maintenance tasks now, on a connection of the engine's pool."""
        if self.maintenance:
            sqlite_call(
                self.engine, lambda conn: run_tasks(self.maintenance, conn, self.url, False)
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        s = self.factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from .models.search import maintain  # (the models import this module)

    app.extensions["cgt_db"] = Database(
        url,
        app.config.get("SQL_ECHO", False),
        app.config.get("SQLITE_CHECKPOINT_THREAD", False),
        maintenance=(maintain,),
    )

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        s: Session | None = g.pop("db_session", None)
        if s is not None:
            if exc is not None:
                s.rollback()
            s.close()


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["cgt_db"]


def session() -> Session:
    """The request's session (opened lazily, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = database().factory()
    return g.db_session
