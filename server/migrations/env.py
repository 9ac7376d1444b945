"""Alembic environment: one database URL, the models' metadata, batch mode on SQLite.

Where the URL comes from, first match wins:
1. a live connection in ``config.attributes["connection"]`` (tests, programmatic use);
2. ``-x url=...`` on the alembic command line;
3. ``config.attributes["url"]`` (set by ``cgt db-upgrade`` / ``cgt db-downgrade``);
4. ``sqlalchemy.url`` in the ini file (unset by default);
5. the Flask app's ``DATABASE_URL`` (defaults → environment → instance/settings.json).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from server.db import make_engine
from server.models import Base
from server.models.search import schema_filter

config = context.config
target_metadata = Base.metadata

# Only the alembic CLI configures logging from the ini; inside the app its logging stays.
if config.cmd_opts is not None and config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    url = x_url or config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from server import create_app

    return str(create_app().config["DATABASE_URL"])


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our TypeDecorators (UTCDateTime …) as their plain SQL type.

    Migrations must not import app code that may later change or move; the decorator only
    converts values in Python, the column in the database is its ``impl``.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        include_object=schema_filter(connection.dialect.name),
    )


def run_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
