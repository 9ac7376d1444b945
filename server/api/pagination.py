"""Keyset pagination shared by every list: ``?limit=&after=`` → ``{items, next}``.

The cursor is opaque to clients (urlsafe base64 of JSON); its cost does not grow with the
table, unlike OFFSET.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from shared_models.errors import InvalidInput


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    try:
        pad = "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(token + pad))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(errors={"after": ["Not a valid page cursor. 分页游标无效。"]}) from None
    if not isinstance(value, list):
        raise InvalidInput(errors={"after": ["Not a valid page cursor. 分页游标无效。"]})
    return value


PAGE_DEFAULT, PAGE_MAX = 50, 200


class PageArgs(Schema):
    limit = fields.Integer(load_default=PAGE_DEFAULT, validate=validate.Range(min=1, max=PAGE_MAX))
    after = fields.String(load_default=None)

    @validates("after")
    def _check_after(self, value: str | None, **_: Any) -> None:
        if value is not None:
            try:
                decode_cursor(value)
            except InvalidInput as e:
                raise ValidationError(e.errors["after"]) from None


def page_schema(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """A ``{items: [...], next: cursor|null}`` schema for one item schema."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "next": fields.String(allow_none=True, metadata={"description": "cursor of next page"}),
        },
        name=name,
    )
