"""Small presentation helpers every console template may call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, url_for

from ..domain.calendar import light
from ..models import Case
from . import bp
from .lists import views_for
from .session import DESK


def light_of(case: Case, now: datetime) -> str:
    """``green``/``yellow``/``red``, or ``none`` for a finished case."""
    lt = light(now, case.step_warn_at, case.step_deadline)
    return lt.value if lt else "none"


def short_id(case_id: str) -> str:
    """The first eight hex digits: what people read out and type into the search box."""
    return case_id[:8]


def menu() -> list[tuple[str, str]]:
    """The signed-in user's navigation: (text key, link)."""
    if "actor" not in g:
        return []
    items = [
        (f"view.{v.key}", url_for("console.queue", view=v.key)) for v in views_for(g.actor.role)
    ]
    items.append(("nav.supervision", url_for("console.supervision")))
    items.append(("nav.indicators", url_for("console.indicators")))
    items.append(("nav.assessment", url_for("console.assessment_year")))
    if g.actor.role in DESK:
        items.append(("nav.map", url_for("console.city_map")))
    return items


@bp.context_processor
def page_helpers() -> dict[str, Any]:
    return {"light_of": light_of, "short_id": short_id, "DESK": DESK, "menu": menu}
