"""Contact data in citizens' text is masked before publishing (server/domain/privacy.py):
every mobile, landline, e-mail and resident ID number in any surroundings, and nothing else."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from server.domain.privacy import ID_CHECK, ID_WEIGHTS, mask_contacts
from server.services.demo import demo_city_document

DEMO_GRID = frozenset(cell["code"] for cell in demo_city_document()["grid"])

# Text around a contact: Chinese, latin letters, punctuation, no digits (a digit next to a
# number makes it part of a longer one, which is left alone on purpose).
AROUND = st.text(
    st.sampled_from(list("请联系我电话手机谢谢，。：:;（）() 路号楼井盖垃圾abcXYZ-/")), max_size=12
)
MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
AREA_CODES = st.sampled_from(["010", "020", "021", "025", "0371", "0377", "0755", "0898", "0931"])
SUBSCRIBERS = st.from_regex(r"[0-9]{7,8}", fullmatch=True)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@given(
    AROUND,
    MOBILES,
    st.sampled_from(["{}", "{} {} {}", "{}-{}-{}", "+86 {}", "+86-{}-{}-{}"]),
    AROUND,
)
@example("请联系我", "13812345678", "{}", "谢谢")
def test_a_mobile_number_keeps_its_first_three_and_last_four_digits(
    before: str, number: str, shape: str, after: str
) -> None:
    parts = (number[:3], number[3:7], number[7:]) if shape.count("{}") == 3 else (number,)
    written = shape.format(*parts)
    out = mask_contacts(before + written + after)
    assert number not in digits(out)
    assert out.startswith(before) and out.endswith(after)
    expected = shape.format(number[:3], "****", number[7:]) if len(parts) == 3 else None
    assert (expected or f"{number[:3]}****{number[7:]}") in out


@given(
    AROUND,
    AREA_CODES,
    SUBSCRIBERS,
    st.sampled_from(["{}-{}", "({}){}", "（{}）{}", "{}{}", "{} {}"]),
    AROUND,
)
@example("电话", "0371", "12345678", "{}-{}", "")
@example("", "0371", "12345678", "({}){}", "")
@example("", "0371", "12345678", "{}{}", "")
def test_a_landline_keeps_its_area_code_and_last_four_digits(
    before: str, area: str, subscriber: str, shape: str, after: str
) -> None:
    out = mask_contacts(before + shape.format(area, subscriber) + after)
    assert out.count("*") == len(subscriber) - 4  # the subscriber's number is never whole
    masked = "*" * (len(subscriber) - 4) + subscriber[-4:]
    assert shape.format(area, masked) in out
    assert out.startswith(before) and out.endswith(after)


@given(
    AROUND,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8}){0,2}\.(com|cn|net|org)", fullmatch=True),
    st.sampled_from(list("，。 ；")),
)
def test_an_email_keeps_its_first_character_and_its_domain(
    before: str, local: str, domain: str, after: str
) -> None:
    out = mask_contacts(f"{before}：{local}@{domain}{after}")  # "：" ends what came before
    assert f"{local[0]}***@{domain}{after}" in out
    if len(local) > 1:
        assert f"{local}@" not in out


# Resident ID numbers (GB 11643): area code, birth date, sequence, check character.
AREAS = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
BIRTH_DATES = st.dates(date(1900, 1, 1), date(2099, 12, 31))
SEQUENCES = st.from_regex(r"[0-9]{3}", fullmatch=True)
NO_LETTERS = st.text(st.sampled_from(list("身份证号码：:，。；（）() 请核实")), max_size=12)


def id18(area: str, born: date, sequence: str, wrong: int = 0) -> str:
    """An 18-character ID number; ``wrong`` shifts its check character off the right one."""
    body = area + born.strftime("%Y%m%d") + sequence
    return body + ID_CHECK[(sum(map(int.__mul__, ID_WEIGHTS, map(int, body))) + wrong) % 11]


def id15(area: str, born: date, sequence: str) -> str:
    return area + born.strftime("%y%m%d") + sequence


@given(NO_LETTERS, AREAS, BIRTH_DATES, SEQUENCES, NO_LETTERS)
@example("身份证号", "110105", date(1949, 12, 31), "002", "")  # the standard's X example
def test_any_valid_18_character_id_keeps_its_first_three_and_check_character(
    before: str, area: str, born: date, sequence: str, after: str
) -> None:
    number = id18(area, born, sequence)
    out = mask_contacts(before + number + after, DEMO_GRID)
    assert out == before + number[:3] + "*" * 14 + number[-1] + after


@given(NO_LETTERS, AREAS, st.dates(date(1900, 1, 1), date(1999, 12, 31)), SEQUENCES, NO_LETTERS)
def test_any_valid_15_digit_id_keeps_its_first_three_digits(
    before: str, area: str, born: date, sequence: str, after: str
) -> None:
    number = id15(area, born, sequence)
    assume(number not in DEMO_GRID)
    out = mask_contacts(before + number + after, DEMO_GRID)
    assert out == before + number[:3] + "*" * 12 + after


# How people type an ID number: whole or in its groups (6-8-4, 15-digit 6-6-3) with or without
# one space or hyphen (half- or full-width) between two groups, in half- or full-width digits,
# the X in upper or lower case, half- or full-width.
ID_GAPS = st.sampled_from(["", " ", "-", "\u3000", "－"])
WIDTHS = st.sampled_from(
    [str.maketrans("", ""), str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")]
)
X_FORMS = st.sampled_from(["X", "x", "Ｘ", "ｘ"])


def written(number: str, gaps: tuple[str, str], width: dict[int, str], x: str) -> str:
    """``number`` as a person types it: its groups split by ``gaps``, its digits and X in
    ``width``, an X check character as ``x``."""
    sizes = (6, 8, 4) if len(number) == 18 else (6, 6, 3)
    groups = [number[:6], number[6 : 6 + sizes[1]], number[6 + sizes[1] :]]
    text = groups[0] + gaps[0] + groups[1] + gaps[1] + groups[2]
    return (text[:-1] + x if text.endswith("X") else text).translate(width)


def masked_as_written(text: str, check: bool) -> str:
    """The first three characters and (18-character form) the check character stay; the
    separators stay where they were; every other character is a ``*``."""
    end = len(text) - 1 if check else len(text)
    middle = re.sub(r"[^ \-\u3000－]", "*", text[3:end])
    return text[:3] + middle + text[end:]


VALID_IDS = st.one_of(
    st.builds(id18, AREAS, BIRTH_DATES, SEQUENCES),
    st.builds(id15, AREAS, st.dates(date(1900, 1, 1), date(1999, 12, 31)), SEQUENCES).filter(
        lambda number: number not in DEMO_GRID
    ),
)


@given(NO_LETTERS, VALID_IDS, st.tuples(ID_GAPS, ID_GAPS), WIDTHS, X_FORMS, NO_LETTERS)
@example("身份证", "41040219900101102X", (" ", " "), {}, "X", "")
@example("身份证", "41040219900101102X", ("-", "-"), {}, "x", "，")
@example("", "41040219900101102X", ("", ""), {ord("4"): "４"}, "Ｘ", "")
@example("旧身份证", "410102900101123", (" ", " "), {}, "X", "")
def test_an_id_in_groups_or_full_width_is_masked_the_same_way(
    before: str,
    number: str,
    gaps: tuple[str, str],
    width: dict[int, str],
    x: str,
    after: str,
) -> None:
    text = written(number, gaps, width, x)
    out = mask_contacts(before + text + after, DEMO_GRID)
    assert out == before + masked_as_written(text, check=len(number) == 18) + after


@given(st.sampled_from(sorted(DEMO_GRID)), st.tuples(ID_GAPS, ID_GAPS), WIDTHS)
@example("410402001001001", ("-", "-"), {})
def test_the_demo_city_grid_codes_stay_however_written(
    code: str, gaps: tuple[str, str], width: dict[int, str]
) -> None:
    text = "网格" + written(code, gaps, width, "X") + "内"
    assert mask_contacts(text, DEMO_GRID) == text


@given(st.sampled_from(sorted(DEMO_GRID)), NO_LETTERS, NO_LETTERS)
@example("410402001001001", "网格", "内")  # street 001's codes read as dates of 1900
def test_the_demo_city_grid_codes_stay(code: str, before: str, after: str) -> None:
    assert mask_contacts(before + code + after, DEMO_GRID) == before + code + after


ORDINARY = st.one_of(
    st.dates(date(1990, 1, 1), date(2100, 12, 31)).flatmap(
        lambda d: st.sampled_from(
            [
                d.isoformat(),
                d.strftime("%Y年%m月%d日"),
                d.strftime("%Y%m%d"),
                d.strftime("%Y/%m/%d"),
            ]
        )
    ),
    st.integers(1, 9999).map(lambda n: f"{n}号"),  # house numbers
    st.integers(1, 99).map(lambda n: f"{n}号楼{n % 9 + 1}单元{n * 3}室"),
    st.integers(0, 99_999_999).map(lambda n: f"{n}元"),  # amounts
    st.decimals(0, 10_000_000, places=2).map(lambda n: f"{n}元"),
    st.uuids(version=4).map(str),  # case numbers
    st.builds(id18, AREAS, st.dates(date(1900, 1, 1)), SEQUENCES, st.integers(1, 10)),  # wrong
    st.from_regex(r"[1-8][0-9]{7}(1[3-9]|[2-9][0-9])[0-9]{5}", fullmatch=True),  # no month
    # The same in the usual groups or full-width. (Split at one place only, what is left may be
    # a phone number of its own, as "861000101300" in "861000101300 000" is: +86 10 0010 1300.)
    st.builds(
        written,
        st.one_of(
            st.builds(id18, AREAS, BIRTH_DATES, SEQUENCES, st.integers(1, 10)),
            st.from_regex(r"[1-8][0-9]{7}(1[3-9]|[2-9][0-9])[0-9]{5}", fullmatch=True),
            st.from_regex(r"^[1-8][0-9]{5}(19|20)[0-9]{2}(1[3-9]|[2-9][0-9])[0-9]{6}\Z"),
        ),
        ID_GAPS.map(lambda gap: (gap, gap)),
        WIDTHS,
        X_FORMS,
    ),
    st.sampled_from(sorted(DEMO_GRID)),  # kept by name
    st.times().map(lambda t: t.strftime("%H:%M")),
)


@given(st.lists(ORDINARY, min_size=1, max_size=6), st.sampled_from(["，", " ", "；", "、在"]))
@example(["3f2a9c1e-1234-4abc-8def-037165551234", "88号", "2026-11-21"], "，")
@example(["00:13", "1000000.00元"], " ")  # libphonenumber read 131-0000-0000 in it
@example(["12:13", "1000000"], " ")  # a time's minutes, then digits
@example(["13 1000000元"], "，")  # an amount with a unit after it
@example(["00:13", "410402 19900101 1021"], " ")  # the check character is wrong
@example(["410402-901301-123"], "，")  # 15 digits in groups, no 13th month
def test_ordinary_numbers_stay_as_written(parts: list[str], joint: str) -> None:
    text = "市民反映" + joint.join(parts) + "处有问题"
    assert mask_contacts(text, DEMO_GRID) == text


@given(st.text(max_size=200))
def test_masking_is_total_and_idempotent_and_keeps_the_length_without_email(text: str) -> None:
    once = mask_contacts(text)
    assert mask_contacts(once) == once
    if "@" not in text:
        assert len(once) == len(text)
        assert [c for c in once if c != "*"] == [
            c for c, o in zip(text, once, strict=True) if o != "*"
        ]


@pytest.mark.parametrize(
    ("text", "published"),
    [
        ("请联系我13812345678", "请联系我138****5678"),
        (
            "电话：0371-12345678，邮箱zhang.san@example.com",
            "电话：0371-****5678，邮箱z***@example.com",
        ),
        ("（0371）6555-1234 或 +86 139 1234 5678", "（0371）****-1234 或 +86 139 **** 5678"),
        ("QQ邮箱12345678@qq.com", "QQ邮箱1***@qq.com"),
        ("热线4008123123，本地6555-1234", None),  # a company's line; no area code
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("文化路88号院，2026-11-21上午，罚款500元", None),
        ("2000-01-01 10号", None),
        ("身份证410102199001011234", "身份证410**************4"),
        ("身份证11010519491231002X，电话13812345678", "身份证110**************X，电话138****5678"),
        ("旧身份证410102900101123", "旧身份证410************"),
        ("身份证410402 19900101 102X", "身份证410*** ******** ***X"),
        ("身份证410402-19900101-102x", "身份证410***-********-***x"),
        ("身份证４１０４０２１９９００１０１１０２Ｘ", "身份证４１０**************Ｘ"),
        ("身份证41040219900101102Ｘ", "身份证410**************Ｘ"),
        ("旧身份证410102 900101 123", "旧身份证410*** ****** ***"),
        ("身份证410402 19900101 1021", None),  # the check character is wrong
        ("网格410402-001001-001", "网格410***-******-***"),  # without the city's grid codes...
        ("身份证410102199001011235", None),  # the check character is wrong
        ("订单号202611211234567896", None),  # its check character fits, 2112-34-56 no date
        ("订单410102199013011231", None),  # the same: no 13th month
        ("单号A410102199001011234", None),  # a letter before it: a code of something else
        ("网格410402001001001", "网格410************"),  # without the city's grid codes...
        ("同案件" + str(uuid.UUID(int=0x3F2A9C1E12344ABC8DEF037165551234)), None),
    ],
)
def test_examples(text: str, published: str | None) -> None:
    assert mask_contacts(text) == (published or text)
