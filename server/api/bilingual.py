"""Request schemas whose field messages come in both languages, like every other message."""

from __future__ import annotations

from marshmallow import Schema

MESSAGES = {
    "required": "Required. 必填。",
    "null": "May not be empty. 不能为空。",
    "invalid": "Not a valid value. 格式无效。",
}


class Bilingual(Schema):
    """A request schema with bilingual schema-level messages (unknown fields, wrong type)."""

    error_messages = {  # noqa: RUF012 (marshmallow's own class attribute)
        "unknown": "Unknown field. 未知字段。",
        "type": "Invalid input type. 输入类型无效。",
    }
