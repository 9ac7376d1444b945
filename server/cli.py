"""``flask --app server cgt …`` commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

cgt = AppGroup("cgt", help="城管通 administration commands.")


def register(app: Flask) -> None:
    app.cli.add_command(cgt)


@cgt.command("create-schema")
def create_schema() -> None:
    """Create tables straight from the models (tests and throwaway databases only)."""
    from .db import database
    from .models import Base

    Base.metadata.create_all(database().engine)
    click.echo("schema created")
