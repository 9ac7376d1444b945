"""City data commands: imports of the map of responsibility, the demo city, staff accounts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import current_app
from sqlalchemy.orm import Session

from shared_models.catalogue import DATA_FILE
from shared_models.enums import Role
from shared_models.errors import CgtError

from ..cli import cgt
from ..db import database
from ..services import city, city_import, demo
from ..services.auth import hasher
from ..services.city_import import Counts


def _run(action: Callable[[Session], Any]) -> Any:
    """Run ``action`` in one unit of work; a CgtError becomes a readable CLI error."""
    try:
        with database().session() as s:
            return action(s)
    except CgtError as err:
        detail = json.dumps(err.errors, ensure_ascii=False, indent=1) if err.errors else ""
        raise click.ClickException(f"{err.message} {err.message_zh}\n{detail}".strip()) from None


def _import(path: Path, fn: Callable[[Session, Any], dict[str, Counts]]) -> None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise click.ClickException(f"cannot read {path}: {err}") from None
    result = _run(lambda s: fn(s, doc))
    for name, counts in city_import.as_dict(result).items():
        click.echo(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@cgt.command("import-catalogue")
@click.argument("file", type=FILE, required=False)
def import_catalogue(file: Path | None) -> None:
    """Import the category catalogue (default: the bundled categories.json)."""
    _import(file or DATA_FILE, city_import.import_catalogue)


@cgt.command("import-departments")
@click.argument("file", type=FILE)
def import_departments(file: Path) -> None:
    """Import the responsible units (departments.json shape)."""
    _import(file, city_import.import_departments)


@cgt.command("import-city")
@click.argument("file", type=FILE)
def import_city(file: Path) -> None:
    """Import areas (district/street/community) and grid cells."""
    _import(file, city_import.import_city)


@cgt.command("import-routing-rules")
@click.argument("file", type=FILE)
def import_routing_rules(file: Path) -> None:
    """Replace the routing rules (routing_rules.json shape)."""
    _import(file, city_import.import_routing_rules)


@cgt.command("load-demo-city")
def load_demo_city() -> None:
    """Load the SYNTHETIC demo city: areas, grid, departments, catalogue, rules, accounts."""
    ph = hasher(current_app.config)
    _run(lambda s: demo.load_demo_city(s, ph))
    click.echo(
        "demo city loaded (synthetic data); sign-in sheet: flask --app server cgt demo-logins"
    )


@cgt.command("demo-logins")
def demo_logins() -> None:
    """Print the demo accounts and points to report from."""
    click.echo(demo.demo_logins())


@cgt.command("create-user")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--display-name", required=True)
@click.option("--username", help="Staff sign-in name.")
@click.option("--password", help="Staff password (prompted when omitted for staff).")
@click.option("--phone", help="Mobile number of a citizen or merchant.")
@click.option("--department", help="Department code (handlers).")
def create_user(
    role: str,
    display_name: str,
    username: str | None,
    password: str | None,
    phone: str | None,
    department: str | None,
) -> None:
    """Create an account: staff sign in with a password, citizens and merchants by SMS."""
    from .. import clock

    if role not in (Role.CITIZEN, Role.MERCHANT) and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    ph = hasher(current_app.config)
    user = _run(
        lambda s: city.create_user(
            s,
            ph,
            clock.now(),
            role=role,
            display_name=display_name,
            username=username,
            password=password,
            phone=phone,
            department=department,
        )
    )
    click.echo(f"created {user.role} #{user.id} {user.username or user.phone}")
