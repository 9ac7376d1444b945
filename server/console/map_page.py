"""Maps of open cases, drawn as SVG from the grid cells: the city map page and the small map
on each case page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.enums import Light
from shared_models.geo import bbox_around

from ..api.context import case_ctx
from ..db import session as db_session
from ..models import Area, Case, GridCell
from ..services import indicator_charts as charts
from . import bp
from .geometry import Frame, frame_around, shade, shape_of
from .session import desk_only

CASE_MAP_RADIUS_M = 1500
MAX_POINTS = 300  # the most urgent open cases drawn as dots on the city map
LIGHTS = tuple(x.value for x in Light)


def _box(cell: GridCell) -> tuple[float, float, float, float]:
    return (cell.min_lat, cell.min_lon, cell.max_lat, cell.max_lon)


def _cells_in(s: Session, box: tuple[float, float, float, float]) -> list[GridCell]:
    min_lat, min_lon, max_lat, max_lon = box
    stmt = select(GridCell).where(
        GridCell.max_lat >= min_lat,
        GridCell.min_lat <= max_lat,
        GridCell.max_lon >= min_lon,
        GridCell.min_lon <= max_lon,
    )
    return list(s.scalars(stmt.order_by(GridCell.code)))


def case_map(s: Session, case: Case) -> dict[str, Any]:
    """The cells within CASE_MAP_RADIUS_M of a case, its own cell marked, and the point."""
    window = bbox_around(case.lat, case.lon, CASE_MAP_RADIUS_M)
    frame = frame_around([window], width=360, pad=0)
    cells = [
        {
            "code": c.code,
            "name": c.name,
            "points": frame.points(shape_of(_box(c), c.polygon)),
            "own": c.code == case.grid_code,
        }
        for c in _cells_in(s, window)
    ]
    return {"frame": frame, "cells": cells, "point": frame.xy(case.lat, case.lon)}


def _district_labels(s: Session, cells: list[GridCell], frame: Frame) -> list[dict[str, Any]]:
    spans: dict[str, list[float]] = {}
    for c in cells:
        b = spans.setdefault(c.district_code, [c.min_lat, c.min_lon, c.max_lat, c.max_lon])
        b[0], b[1] = min(b[0], c.min_lat), min(b[1], c.min_lon)
        b[2], b[3] = max(b[2], c.max_lat), max(b[3], c.max_lon)
    areas = {a.code: a for a in s.scalars(select(Area).where(Area.code.in_(spans)))}
    labels = []
    for code, (a, b, c, d) in sorted(spans.items()):
        x, y = frame.xy((a + c) / 2, (b + d) / 2)
        labels.append({"area": areas.get(code), "x": x, "y": y})
    return labels


@bp.route("/map")
@desk_only
def city_map() -> Any:
    s, ctx = db_session(), case_ctx()
    chosen = request.args.get("light", "")
    light = chosen if chosen in LIGHTS else ""
    cells = list(s.scalars(select(GridCell).order_by(GridCell.code)))
    # The same figures as the indicator charts' map (GET /api/indicators/charts/map).
    data = charts.open_map(s, ctx.now, MAX_POINTS)
    per_cell = {c["grid"]: c for c in data.cells}
    counts = {
        code: sum(c[x] for x in ((light,) if light else LIGHTS)) for code, c in per_cell.items()
    }
    most = max(counts.values(), default=0)
    frame = frame_around([_box(c) for c in cells], width=960) if cells else None
    shapes, dots = [], []
    if frame is not None:
        for c in cells:
            n = counts.get(c.code, 0)
            points = frame.points(shape_of(_box(c), c.polygon))
            shapes.append({"cell": c, "points": points, "count": n, "opacity": shade(n, most)})
        for p in data.points:
            x, y = frame.xy(p["lat"], p["lon"])
            dots.append({**p, "x": x, "y": y})
    return render_template(
        "console/map.html",
        frame=frame,
        shapes=shapes,
        dots=dots,
        labels=_district_labels(s, cells, frame) if frame else [],
        light=light,
        lights=LIGHTS,
        total=sum(counts.values()),
        busiest=sorted(shapes, key=lambda sh: -sh["count"])[:10],
        max_points=MAX_POINTS,
    )
