"""Small helpers for case API tests: photos, reports and actions over HTTP."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from server.db import database
from server.models import Base
from tests.factories import INSPECTOR_POINT

_colour = iter(range(1, 10**6))


def upload_photo(client: FlaskClient, headers: dict[str, str]) -> str:
    """Upload a small, unique JPEG and return its sha256."""
    n = next(_colour)
    buf = io.BytesIO()
    # the number in a JPEG comment too: close colours can compress to the same bytes
    image = Image.new("RGB", (32, 24), (n % 256, (n // 256) % 256, 77))
    image.save(buf, "JPEG", comment=f"test photo {n}".encode())
    resp = client.post(
        "/api/photos", data=buf.getvalue(), headers={**headers, "Content-Type": "image/jpeg"}
    )
    assert resp.status_code in (200, 201), resp.json
    return resp.json["sha256"]


def report_body(**overrides: Any) -> dict[str, Any]:
    lat, lon = INSPECTOR_POINT
    body = {
        "id": str(uuid.uuid4()),
        "category_code": "SJ0101",
        "lat": lat,
        "lon": lon,
        "address": "光明路12号门口",
        "description": "路边一堆垃圾没人清",
    }
    body.update(overrides)
    return body


def report(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> Any:
    return client.post("/api/cases", json=report_body(**overrides), headers=headers)


def act(
    client: FlaskClient,
    headers: dict[str, str],
    case_id: str,
    action: str,
    version: int | None = None,
    **args: Any,
) -> Any:
    if version is None:
        version = client.get(f"/api/cases/{case_id}", headers=headers).json["version"]
    return client.post(
        f"/api/cases/{case_id}/actions/{action}", json={"version": version, **args}, headers=headers
    )


def ok(resp: Any, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.json)
    return resp.json


def row_counts(app: Flask) -> dict[str, int]:
    """Rows in every table: a refused request must leave each count as it was."""
    with database(app).session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }
