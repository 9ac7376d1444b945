"""GeoReport v2 as 城管通 serves it (docs/open311.md), written as OpenAPI 3 for the fuzzer.

The Open311 blueprint is not in /api/openapi.json (it speaks the spec's formats, not ours), so
this document states what an existing civic-reporting client relies on: the resources, their
JSON shapes, and the spec's error list ``[{code, description}]`` for every refusal.
"""

from __future__ import annotations

from typing import Any

from server.services.demo import demo_city_document

# A key the fuzz app stores (tests/fuzz/conftest.py): with it, generated requests become cases.
API_KEY = "cgt311_fuzz-key"
SERVICE_CODES = ["SJ0101", "BJ0101", "SJ0501", "SJ0201"]


def _city_bounds() -> tuple[float, float, float, float]:
    boxes = [cell["bbox"] for cell in demo_city_document()["grid"]]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


LAT_MIN, LON_MIN, LAT_MAX, LON_MAX = _city_bounds()
TEXT = {"type": "string"}
TEXT_OR_NULL = {"type": "string", "nullable": True}
ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "additionalProperties": False,
    },
}
REQUEST = {
    "type": "object",
    "required": ["service_request_id", "status", "requested_datetime", "lat", "long"],
    "properties": {
        "service_request_id": TEXT,
        "status": {"enum": ["open", "closed"]},
        "status_notes": TEXT_OR_NULL,
        "service_name": TEXT,
        "service_code": TEXT,
        "description": TEXT_OR_NULL,
        "agency_responsible": TEXT_OR_NULL,
        "service_notice": TEXT_OR_NULL,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time", "nullable": True},
        "expected_datetime": {"type": "string", "format": "date-time", "nullable": True},
        "address": TEXT_OR_NULL,
        "address_id": TEXT_OR_NULL,
        "zipcode": TEXT_OR_NULL,
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "media_url": TEXT_OR_NULL,
    },
    "additionalProperties": False,
}
FORMAT = {"name": "format", "in": "path", "required": True, "schema": {"enum": ["json", "xml"]}}
JURISDICTION = {"name": "jurisdiction_id", "in": "query", "schema": {"type": "string"}}


def _answers(ok: dict[str, Any], *refusals: int) -> dict[str, Any]:
    errors = {"application/json": {"schema": ERRORS}, "text/xml": {"schema": {}}}
    out: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": ok}, "text/xml": {"schema": {}}},
        }
    }
    # 404 everywhere: an unknown format or jurisdiction_id; 400 everywhere: text with a NUL
    refused = sorted({*refusals, 400, 404})
    out.update({str(s): {"description": "refused", "content": errors} for s in refused})
    return out


def _get(ok: dict[str, Any], *refusals: int, params: list[Any] | None = None) -> dict[str, Any]:
    parameters = [FORMAT, JURISDICTION, *(params or [])]
    return {"get": {"parameters": parameters, "responses": _answers(ok, *refusals)}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


def _either(real: dict[str, Any], anything: dict[str, Any]) -> dict[str, Any]:
    """Real values (so requests get through) or any value of the type (so refusals are met)."""
    return {"anyOf": [real, anything]}


REPORT_FORM = {
    "type": "object",
    "required": ["api_key", "service_code", "lat", "long"],
    "properties": {
        "api_key": _either({"enum": [API_KEY]}, TEXT),
        "service_code": _either({"enum": SERVICE_CODES}, TEXT),
        "lat": _either(
            {"type": "number", "minimum": LAT_MIN, "maximum": LAT_MAX}, {"type": "number"}
        ),
        "long": _either(
            {"type": "number", "minimum": LON_MIN, "maximum": LON_MAX}, {"type": "number"}
        ),
        "address_string": {"type": "string", "maxLength": 255},
        "description": {"type": "string", "maxLength": 2000},
        "email": {"type": "string", "maxLength": 254},
        "phone": {"type": "string", "maxLength": 32},
        "first_name": {"type": "string", "maxLength": 64},
        "last_name": {"type": "string", "maxLength": 64},
        "device_id": {"type": "string", "maxLength": 128},
        "account_id": {"type": "string", "maxLength": 128},
        "media_url": {"type": "string", "pattern": "^https?://[a-z]+\\.example\\.cn/[a-z0-9]*$"},
        "coord_system": {"enum": ["wgs84", "gcj02", "bd09"]},
    },
}
RECEIPT = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "service_notice", "account_id"],
        "properties": {
            "service_request_id": TEXT,
            "service_notice": TEXT,
            "account_id": TEXT_OR_NULL,
        },
        "additionalProperties": False,
    },
}
DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "endpoints"],
    "properties": {
        "changeset": TEXT,
        "contact": TEXT,
        "key_service": TEXT,
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["specification", "url", "type", "formats"],
                "properties": {"formats": {"type": "array", "items": TEXT}},
            },
        },
    },
}
SERVICES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": TEXT,
            "service_name": TEXT,
            "description": TEXT,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": TEXT,
            "group": TEXT,
        },
        "additionalProperties": False,
    },
}
# An empty date is no filter (as if it were not sent).
DATE = {"anyOf": [{"type": "string", "format": "date-time"}, {"enum": [""]}]}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "城管通 Open311 GeoReport v2", "version": "v2"},
    "paths": {
        "/open311/v2/discovery.{format}": _get(DISCOVERY),
        "/open311/v2/services.{format}": _get(SERVICES),
        "/open311/v2/services/{service_code}.{format}": _get(
            {"type": "object", "required": ["service_code", "attributes"]},
            404,
            params=[
                {
                    "name": "service_code",
                    "in": "path",
                    "required": True,
                    "schema": _either({"enum": SERVICE_CODES}, TEXT),
                }
            ],
        ),
        "/open311/v2/requests.{format}": {
            **_get(
                {"type": "array", "items": REQUEST, "maxItems": 1000},
                400,
                404,
                params=[
                    _query("service_request_id", TEXT),
                    _query("service_code", _either({"enum": SERVICE_CODES}, TEXT)),
                    _query("status", {"enum": ["open", "closed", "open,closed", "pending"]}),
                    _query("start_date", DATE),
                    _query("end_date", DATE),
                ],
            ),
            "post": {
                "parameters": [FORMAT, JURISDICTION],
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": REPORT_FORM}},
                },
                "responses": _answers(RECEIPT, 400, 403, 404),
            },
        },
        "/open311/v2/requests/{service_request_id}.{format}": _get(
            {"type": "array", "items": REQUEST, "minItems": 1, "maxItems": 1},
            404,
            params=[{"name": "service_request_id", "in": "path", "required": True, "schema": TEXT}],
        ),
        "/open311/v2/tokens/{token}.{format}": _get(
            {"type": "array", "minItems": 1},
            404,
            params=[{"name": "token", "in": "path", "required": True, "schema": TEXT}],
        ),
    },
}
