"""The console's two languages: Chinese (default) and English.

Every string a page shows lives in ``messages/zh.json`` and ``messages/en.json`` under the
same keys (a test keeps them equal and checks that every key a template uses exists). Names
stored in the database come in both languages (``name`` / ``name_en``); errors carry both
(``message_zh`` / ``message``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, session

from shared_models.errors import CgtError

LANGS = ("zh", "en")
DEFAULT = "zh"
MESSAGES = Path(__file__).with_name("messages")


@cache
def catalogue(lang: str) -> dict[str, str]:
    doc: dict[str, str] = json.loads((MESSAGES / f"{lang}.json").read_text(encoding="utf-8"))
    return doc


def lang() -> str:
    if "lang" not in g:  # asked hundreds of times a page: read the session once
        chosen = session.get("lang")
        g.lang = chosen if chosen in LANGS else DEFAULT
    return g.lang  # type: ignore[no-any-return]


def t(key: str, **params: Any) -> str:
    """The text for ``key`` in the viewer's language, with ``{name}`` filled from ``params``."""
    text = catalogue(lang()).get(key, key)
    return text.format(**params) if params else text


def both(key: str, **params: Any) -> str:
    """Chinese and English together, for messages everyone at the desk must understand."""
    zh, en = catalogue("zh").get(key, key), catalogue("en").get(key, key)
    if params:
        zh, en = zh.format(**params), en.format(**params)
    return f"{zh} — {en}"


def named(obj: Any) -> str:
    """A stored name (category, department, area) in the viewer's language."""
    if obj is None:
        return "—"
    if isinstance(obj, dict):
        name, name_en = obj.get("name", ""), obj.get("name_en", "")
    else:
        name, name_en = obj.name, getattr(obj, "name_en", "")
    return (name_en or name) if lang() == "en" else name


def pick(zh: str, en: str) -> str:
    """One of two texts the code or the database gives in both languages."""
    return (en or zh) if lang() == "en" else zh


def error_text(err: CgtError) -> str:
    return err.message if lang() == "en" else err.message_zh


def local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as the city's wall-clock time."""
    if dt is None:
        return "—"
    return dt.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(fmt)


def duration(delta: timedelta) -> str:
    """A span as days/hours/minutes in the viewer's language (``3天4小时``, ``3 d 4 h``)."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [(days, "unit.day"), (hours, "unit.hour"), (mins, "unit.minute")]
    shown = [t(key, n=n) for n, key in parts if n][:2] or [t("unit.minute", n=0)]
    return ("" if lang() == "zh" else " ").join(shown)


def install(app: Flask) -> None:
    """Make the helpers available to every console template."""
    app.jinja_env.globals.update(t=t, both=both, named=named, pick=pick, lang=lang, LANGS=LANGS)
    app.jinja_env.filters.update(local=local, duration=duration)
