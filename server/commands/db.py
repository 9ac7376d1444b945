"""Database migration commands: Alembic driven with the app's own ``DATABASE_URL``."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app

from ..cli import cgt

# Alembic announces every plugin it loads at INFO; the migration steps themselves stay visible.
# Alembic is imported lazily, after this, and so that the web processes never load it.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

if TYPE_CHECKING:
    from alembic.config import Config

SERVER_DIR = Path(__file__).resolve().parent.parent
ALEMBIC_INI = SERVER_DIR / "alembic.ini"
MIGRATIONS_DIR = SERVER_DIR / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config bound to ``url`` (kept out of the ini so ``%`` in passwords is safe)."""
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def _url_option(url: str | None) -> str:
    return url or str(current_app.config["DATABASE_URL"])


def unversioned_tables(url: str) -> list[str]:
    """Our tables in a database that has no migration history (made by ``create-schema``)."""
    from sqlalchemy import inspect

    from ..db import make_engine
    from ..models import Base

    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    return [] if "alembic_version" in names else sorted(names & set(Base.metadata.tables))


@cgt.command("db-upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--url", default=None, help="Database URL (default: the app's DATABASE_URL).")
def db_upgrade(revision: str, url: str | None) -> None:
    """Migrate the database up to a revision (default: the newest)."""
    url = _url_option(url)
    if tables := unversioned_tables(url):
        raise click.ClickException(
            f"the database already has tables ({', '.join(tables[:3])}, …) but no migration "
            "history, probably from `cgt create-schema`. A development database can simply be "
            "deleted (rm instance/cgt.sqlite3*); one whose schema is exactly the newest can be "
            "marked as such: .venv/bin/alembic -c server/alembic.ini -x url=... stamp head"
        )
    upgrade(url, revision)
    click.echo(f"database at {revision}")


@cgt.command("db-downgrade")
@click.option("--revision", default="-1", show_default=True, help="Target ('base' = empty).")
@click.option("--url", default=None, help="Database URL (default: the app's DATABASE_URL).")
def db_downgrade(revision: str, url: str | None) -> None:
    """Migrate the database down (default: one revision)."""
    downgrade(_url_option(url), revision)
    click.echo(f"database at {revision}")


@cgt.command("db-revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--empty", is_flag=True, help="Write an empty revision (data migrations).")
def db_revision(message: str, empty: bool) -> None:
    """Write a new migration from the difference between the models and the migrations.

    Compares against a scratch SQLite database migrated to head, so neither the local data
    nor a half-migrated development database can leak into the generated script.
    """
    from alembic import command

    with tempfile.TemporaryDirectory(prefix="cgt-rev-") as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        command.upgrade(cfg, "head")
        scripts = command.revision(cfg, message=message, autogenerate=not empty)
    for script in scripts if isinstance(scripts, list) else [scripts]:
        if script is None:
            continue
        path = str(script.path)
        # Generated code follows the project's lint rules like hand-written code.
        for args in (["format", "--quiet"], ["check", "--fix", "--quiet"]):
            subprocess.run([sys.executable, "-m", "ruff", *args, path], check=False)
        click.echo(f"wrote {Path(path).relative_to(SERVER_DIR.parent)}")
