"""Open311 administration: issue API keys to client apps."""

from __future__ import annotations

import click
from sqlalchemy import select

from .. import clock
from ..cli import cgt


@cgt.command("open311-key")
@click.argument("name")
def open311_key(name: str) -> None:
    """Create an Open311 API key for client NAME and print it (shown only this once)."""
    from ..db import database
    from ..models import ApiKey
    from ..services import open311

    name = name.strip()
    if not name or len(name) > 64:
        raise click.BadParameter("1 to 64 characters. 须为1至64个字符。", param_hint="NAME")
    with database().session() as s:
        if s.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
            raise click.ClickException(f"a key named '{name}' already exists. 该名称已存在。")
        key = open311.create_key(s, name, clock.now())
    click.echo(key)
