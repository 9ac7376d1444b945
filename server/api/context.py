"""Per-request domain context built from the app config."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from .. import clock
from ..domain.calendar import WorkCalendar
from ..services import context


def calendar() -> WorkCalendar:
    cal = current_app.extensions.get("cgt_calendar")
    if cal is None:
        cfg = current_app.config
        cal = WorkCalendar.from_config(cfg["WORK_CALENDAR"], cfg["TIMEZONE"])
        current_app.extensions["cgt_calendar"] = cal
    return cal


def case_ctx() -> context.CaseContext:
    return context.build(current_app.config, clock.now(), calendar())


def timezone() -> ZoneInfo:
    """The city's time zone (``TIMEZONE``): local dates and months are cut in it."""
    return ZoneInfo(current_app.config["TIMEZONE"])
