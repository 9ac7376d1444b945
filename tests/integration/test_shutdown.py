"""A process that builds apps and drops them (the benches, the tests) ends their threads."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from server import create_app, shutdown
from server.db import WalCheckpointer, database
from server.models import Base


def test_shutdown_ends_the_apps_threads_before_it_returns(tmp_path: Path) -> None:
    """Before, a dropped app's sync applier polled its database every few seconds for good
    and its maintenance thread ran once more after a second: on a database the bench had
    removed by then, the pool made a new empty file and the log said "no such table"."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dropped.sqlite3'}",
            "PHOTO_DIR": str(tmp_path / "photos"),
            "SYNC_INBOX_APPLIER": True,
            "SQLITE_CHECKPOINT_THREAD": True,
        }
    )
    db = database(app)
    Base.metadata.create_all(db.engine)
    applier = app.extensions["cgt_sync_applier"]
    applier.ensure_started()  # as a deferred push or a report does
    for _ in range(WalCheckpointer.EVERY):  # the EVERY-th commit starts the maintenance thread
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM sync_publish_queue"))
    assert db.checkpointer is not None
    threads = [applier.thread, db.checkpointer.thread]
    assert all(t is not None and t.is_alive() for t in threads)
    shutdown(app)
    assert not any(t.is_alive() for t in threads if t is not None)
