"""``cgt load-demo``: the SYNTHETIC demo city and its case queue in one idempotent command."""

from __future__ import annotations

import time

import click
from flask import current_app

from .. import clock
from ..api.context import calendar
from ..cli import cgt
from ..db import database
from ..models import search
from ..services import demo, demo_cases
from ..services.auth import hasher
from ..services.photos import PhotoSettings


@cgt.command("load-demo")
def load_demo() -> None:
    """Load the demo city and ~300 demo cases in every state (synthetic; safe to repeat)."""
    started = time.perf_counter()
    cfg, now = current_app.config, clock.now()
    with database().session() as s:
        demo.load_demo_city(s, hasher(cfg), now)
        counts = demo_cases.load_demo_cases(s, PhotoSettings.from_config(cfg), calendar(), now, cfg)
    search.flush(database().engine)  # index the cases now, not at the server's first commits
    click.echo("demo city and cases loaded — SYNTHETIC data (演示数据，非真实)")
    for state, n in counts.items():
        click.echo(f"  {state:<11} {n:>4}")
    click.echo(
        f"  {'total':<11} {sum(counts.values()):>4}  ({time.perf_counter() - started:.1f} s)"
    )
