"""``flask --app server cgt …`` commands; each module in ``server/commands`` adds its own."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask
from flask.cli import AppGroup

cgt = AppGroup("cgt", help="城管通 administration commands.")


def register(app: Flask) -> None:
    from . import commands

    for mod in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{mod.name}")
    app.cli.add_command(cgt)
