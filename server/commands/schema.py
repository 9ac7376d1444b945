"""Schema command for tests and throwaway databases."""

import click

from ..cli import cgt


@cgt.command("create-schema")
def create_schema() -> None:
    """Create tables straight from the models (tests and throwaway databases only)."""
    from ..db import database
    from ..models import Base

    Base.metadata.create_all(database().engine)
    click.echo("schema created")
