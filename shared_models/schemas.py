"""Marshmallow schemas for what people send: used by the server at its edge and by the app
to validate a form offline with the very same rules."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from .enums import CaseSource, CoordSystem

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a sha256 hex digest. 不是有效的照片编号。")
MAX_PHOTOS = 9
DESCRIPTION_MAX = 2000
ADDRESS_MAX = 255
NOTE_MAX = 2000
REASON_MAX = 500
NUL_MESSAGE = "Contains a NUL character (U+0000). 含有空字符（U+0000）。"


def has_nul(value: Any) -> bool:
    """A NUL anywhere in a string, or in the keys and values of a JSON-like value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class NoNulSchema(Schema):
    """Refuses text with NUL: PostgreSQL cannot store it (SQLite can), and nobody types it."""

    @pre_load
    def _refuse_nul(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            bad = {str(k): [NUL_MESSAGE] for k, v in data.items() if has_nul(k) or has_nul(v)}
            if bad:
                raise ValidationError(bad)
        return data


class CaseReportSchema(NoNulSchema):
    """A new problem report (信息采集); ``id`` is generated on the device."""

    id = fields.UUID(required=True, metadata={"description": "client-generated UUID"})
    category_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    coord_system = fields.String(
        load_default=CoordSystem.WGS84.value,
        validate=validate.OneOf([c.value for c in CoordSystem]),
    )
    address = fields.String(load_default="", validate=validate.Length(max=ADDRESS_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))
    photos = fields.List(
        fields.String(validate=SHA256), load_default=list, validate=validate.Length(max=MAX_PHOTOS)
    )
    source = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([s.value for s in CaseSource]),
        metadata={"description": "staff only: the channel (hotline, frontage, toilet, open311)"},
    )


class CaseActionSchema(NoNulSchema):
    """Arguments of a workflow action; which ones are required depends on the action."""

    version = fields.Integer(
        required=True, strict=True, metadata={"description": "the case version this is based on"}
    )
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))
    reason = fields.String(load_default=None, validate=validate.Length(max=REASON_MAX))
    photos = fields.List(
        fields.String(validate=SHA256), load_default=list, validate=validate.Length(max=MAX_PHOTOS)
    )
    department = fields.String(load_default=None, validate=validate.Length(max=32))
    inspector_id = fields.Integer(load_default=None, strict=True)
    passed = fields.Boolean(metadata={"description": "check: did the fix hold"})
    confirmed = fields.Boolean(metadata={"description": "verify: is the problem there"})
    target = fields.String(load_default=None, validate=validate.Length(max=36))
    category_code = fields.String(load_default=None, validate=validate.Length(max=16))


class RatingSchema(NoNulSchema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=REASON_MAX))
