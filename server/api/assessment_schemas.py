"""Schemas of the assessment API: what the office sends, and the bulletin everyone reads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..domain import assessment as rules
from .bilingual import MESSAGES, Bilingual

MAX_UNITS = 500
SCORE = validate.Range(0, 100, error="Between 0 and 100. 应在0到100之间。")
NAME = validate.Length(min=1, max=32, error="1 to 32 characters. 应为1到32个字符。")


def _score(part: rules.Part) -> fields.Decimal:
    return fields.Decimal(
        allow_none=True,
        validate=SCORE,
        error_messages={**MESSAGES, "invalid": "Not a number. 不是数字。"},
        # apispec would print the Decimal bounds as strings ("100"): not valid OpenAPI
        metadata={
            "description": f"{part.name_zh}, 0–100, at most two decimals",
            "minimum": 0,
            "maximum": 100,
        },
    )


# department + one 0–100 field per part the office enters (专项整治, 综治平安建设, …)
UnitScoresIn = Bilingual.from_dict(
    {
        "department": fields.String(required=True, validate=NAME, error_messages=MESSAGES),
        **{p.key: _score(p) for p in rules.PARTS if p.entered},
    },
    name="UnitScoresIn",
)


class ScoresIn(Bilingual):
    units = fields.List(
        fields.Nested(UnitScoresIn),
        required=True,
        validate=validate.Length(min=1, max=MAX_UNITS, error="1 to 500 units. 应为1到500个单位。"),
        error_messages=MESSAGES,
    )


class AdjustmentIn(Bilingual):
    department = fields.String(required=True, validate=NAME, error_messages=MESSAGES)
    rule = fields.String(
        required=True,
        validate=validate.OneOf(list(rules.RULES), error="Unknown rule. 未知加减分项目。"),
        error_messages=MESSAGES,
    )
    count = fields.Integer(
        load_default=1,
        validate=validate.Range(1, 50, error="From 1 to 50. 应为1到50。"),
        error_messages={**MESSAGES, "invalid": "Not a whole number. 不是整数。"},
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(
            min=1, max=1000, error="1 to 1000 characters. 应为1到1000个字符。"
        ),
        error_messages=MESSAGES,
    )


class AdjustmentOut(Schema):
    id = fields.Integer()
    month = fields.String()
    department = fields.String()
    rule = fields.String()
    kind = fields.String(metadata={"description": "bonus or penalty"})
    count = fields.Integer()
    points = fields.Float()
    reason = fields.String()


class PartOut(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    weight = fields.Float()
    entered = fields.Boolean(metadata={"description": "false: computed (数字城管)"})


class GradeOut(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    min_score = fields.Function(
        lambda g: float(g.min_score) if g.min_score.is_finite() else None,
        metadata={"type": "number", "nullable": True},
    )


class RuleOut(Schema):
    code = fields.String()
    kind = fields.String()
    points = fields.Float()
    name_zh = fields.String()
    name_en = fields.String()
    monthly_cap = fields.Float(allow_none=True)


class RulesOut(Schema):
    parts = fields.List(fields.Nested(PartOut))
    grades = fields.List(fields.Nested(GradeOut))
    adjustments = fields.List(fields.Nested(RuleOut))
    digital_weights = fields.Dict(keys=fields.String(), values=fields.Float())


class FigureOut(Schema):
    value = fields.Float(allow_none=True)
    numerator = fields.Integer()
    denominator = fields.Integer()


class DigitalOut(Schema):
    no_cases = fields.Boolean()
    indicators = fields.Dict(keys=fields.String(), values=fields.Nested(FigureOut))


class ItemOut(Schema):
    id = fields.Integer()
    rule = fields.String()
    kind = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    count = fields.Integer()
    points = fields.Float()
    reason = fields.String()


class GradeRef(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


class BulletinUnit(Schema):
    rank = fields.Integer(allow_none=True)
    department = fields.String()
    name = fields.String()
    name_en = fields.String()
    parts = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    digital = fields.Nested(DigitalOut)
    adjustments = fields.List(fields.Nested(ItemOut))
    bonus = fields.Float()
    penalty = fields.Float()
    total = fields.Float(allow_none=True)
    grade = fields.Nested(GradeRef, allow_none=True)
    missing = fields.List(fields.String(), metadata={"description": "parts not entered yet"})


class NamedOut(Schema):
    first = fields.List(fields.String())
    last = fields.List(fields.String())
    praised = fields.List(fields.String(), metadata={"description": "the top two (通报表扬)"})
    criticised = fields.List(fields.String(), metadata={"description": "the last two (通报批评)"})


class BulletinPart(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    weight = fields.Float()


class Bulletin(Schema):
    month = fields.String()
    status = fields.String(metadata={"description": "draft (office only) or published"})
    published_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    as_of = fields.String()
    parts = fields.List(fields.Nested(BulletinPart))
    units = fields.List(fields.Nested(BulletinUnit))
    named = fields.Nested(NamedOut)
    complete = fields.Boolean()


class MonthItem(Schema):
    month = fields.String()
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class MonthList(Schema):
    items = fields.List(fields.Nested(MonthItem))


class WithdrawOut(Schema):
    month = fields.String()
    status = fields.String()


class YearUnit(Schema):
    rank = fields.Integer()
    department = fields.String()
    name = fields.String()
    name_en = fields.String()
    months = fields.Dict(keys=fields.String(), values=fields.Float())
    mean = fields.Float()
    grade = fields.Nested(GradeRef)


class YearOut(Schema):
    year = fields.Integer()
    months = fields.List(fields.String())
    units = fields.List(fields.Nested(YearUnit))
    named = fields.Nested(NamedOut)
