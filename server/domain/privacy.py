"""Personal contact data in citizens' free text, masked before the text is published.

People write their phone number or e-mail into a report ("请联系我13812345678"), and Open311
publishes reports to anyone. What is published keeps the text readable and the contact
unusable, the way Chinese services show numbers:

- a mainland mobile keeps its first three and last four digits: ``138****5678``;
- a landline keeps its area code and last four digits: ``0371-****5678``, ``(0371)****5678``;
- at least three digits are always masked, never is the whole number kept; a ``+86``/``0086``
  prefix, separators and everything around a number stay as written;
- an e-mail address keeps its first character and its domain: ``z***@example.com``;
- a resident ID number (公民身份号码, GB 11643) keeps its first three digits and, in the
  18-character form, its check character: ``410**************4``, ``410************``
  (15-digit form), ``410*** ******** ***X`` (written in groups). What stays tells no one
  where (beyond the province and prefecture's first digit), when or whether a man or a woman
  was born: the county code, the birth date and the sequence (whose last digit is the sex)
  are hidden. Kept to its length, the masked number
  still reads as an ID number to the person who wrote it.

Phone numbers are found two ways, and whatever either finds is masked:

- libphonenumber (the ``phonenumbers`` package) for region CN at ``Leniency.VALID``: every
  number valid by China's numbering plan, however it is written (``138 1234 5678``,
  ``+86 371 6555 1234``, ``（0371）6555-1234``, full-width digits), if it is a mobile or has an
  area or country code — alone, the library also reads "2026-11-21 10" as a Guangzhou
  landline, and a local number without its area code cannot be told from other numbers;
- the shapes people write whether or not the plan allocates the number: 11 digits starting
  ``1[3-9]`` (``138 1234 5678``, ``138-1234-5678`` too), and an area code (``010``, ``02X``,
  ``0XXX``) before 7 or 8 digits (``0371-12345678``, ``(0371)12345678``, ``037112345678``).

An ID number counts only if it could be one: 18 characters (17 digits, then a digit or ``X``)
whose check character is right (ISO 7064 MOD 11-2) and whose birth date (characters 7-14) is a
real date of 1900-2099 — without the date, one order number in eleven would pass —; or 15
digits whose birth date (characters 7-12, 19YYMMDD) is a real date and that are not one of the
city's grid cell codes (``keep``): a 万米单元网格 code is 15 digits too (county, street,
community, cell: ``410402001001001``), and street 001's read as a date of 1900.

People write ID numbers as they read them off the card, so one is found however it is typed:
whole or in its groups — area, birth date, sequence and check character, 6-8-4
(``410402 19900101 102X``, ``410402-19900101-102X``), or 6-6-3 in the 15-digit form — with
or without one space or hyphen between two groups, in half- or full-width digits
(``４１０４…``), the X in upper or lower case, half- or full-width (``x``, ``Ｘ``). Read in NFKC
and without its separators it must pass the same checks, and a grid code written so stays too.
It is masked as written: the separators and the written form of what stays are kept
(``410*** ******** ***X``, ``４１０**************Ｘ``). Other groupings (four digits a group,
as bank cards are written, or two spaces between groups) are not taken for ID numbers.

A number must stand alone: digits next to it make it part of something longer (an order
number), which is left as written, and so are house numbers, dates and amounts, which
are not phone numbers, case numbers (UUIDs), which are skipped whole, and 400/800 service
numbers, which are companies' and published anyway.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterator
from datetime import date

from phonenumbers import Leniency, PhoneNumberMatcher

REGION = "CN"
MASK = "*"
TAIL = 4  # digits kept at the end
MIN_MASKED = 3

# The local part as people type it (RFC 5322's dot-atom characters), then a dotted domain.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
_SEP = r"[ \-‐–—]?"
_AREA = r"0(?:10|2\d|[3-9]\d\d)"  # 010 and 02X have two digits after the 0, the rest three
MOBILE = re.compile(rf"(?<!\d)(?:(?:\+|00)?86{_SEP})?1[3-9]\d(?:{_SEP}\d{{4}}){{2}}(?!\d)")
LANDLINE = re.compile(rf"(?<!\d)(?:[(（]{_AREA}[)）] ?|{_AREA}{_SEP})\d{{3,4}}{_SEP}\d{{4}}(?!\d)")
# Letters next to it, as well as digits, make a run of digits a code of something else. An ID
# number is written whole or in its groups (area, birth date, sequence and check: 6-8-4, or
# 6-6-3 in the 15-digit form), with or without one space or hyphen between two groups;
# half- or full-width (NFKC reads ``４`` as ``4``, ``Ｘ`` as ``X``, ``－`` as ``-``).
_LETTER = r"A-Za-zＡ-Ｚａ-ｚ"
ID_SEPARATORS = " -\u3000－"
_ID_SEP = f"[{re.escape(ID_SEPARATORS)}]?"
RESIDENT_ID = re.compile(
    rf"(?<![\d{_LETTER}])\d{{6}}{_ID_SEP}"
    rf"(?:\d{{8}}{_ID_SEP}\d{{3}}[\dXxＸｘ]|\d{{6}}{_ID_SEP}\d{{3}})(?![\d{_LETTER}])"
)
ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
ID_CHECK = "10X98765432"  # the check character for each remainder of the weighted sum mod 11
ID_HEAD = 3  # digits kept at the start of an ID number
CASE_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A cheap first look: without seven digits in a row (separators allowed), no phone number.
SEVEN_DIGITS = re.compile(r"\d(?:[\s()（）.\-‐–—－]{0,3}\d){6}")


def mask_contacts(text: str, keep: Container[str] = frozenset()) -> str:
    """``text`` with every e-mail address, Chinese phone number and resident ID number in it
    masked; numbers in ``keep`` (the city's grid cell codes) stay as written."""
    if "@" in text:
        text = EMAIL.sub(_mask_email, text)
    if not SEVEN_DIGITS.search(text):
        return text
    text = RESIDENT_ID.sub(lambda m: _mask_id(m.group(), keep), text)
    out, last = [], 0
    for start, end in _merged(_numbers(text), [m.span() for m in CASE_ID.finditer(text)]):
        out += [text[last:start], mask_number(text[start:end])]
        last = end
    return "".join(out) + text[last:]


def _numbers(text: str) -> Iterator[tuple[int, int]]:
    for m in PhoneNumberMatcher(text, REGION, leniency=Leniency.VALID):
        if _head(m.raw_string) is not None and not _amount_or_time(text, m.start, m.end):
            yield m.start, m.end
    for pattern in (MOBILE, LANDLINE):
        for found in pattern.finditer(text):
            yield found.span()


# What libphonenumber's lenient matcher can take for a number: an amount ("13 1000000.00元"
# reads as 131-0000-0000) or digits that begin with a time's minutes ("00:13 1000000").
_DECIMAL_END = re.compile(r"[.．]\d{1,2}$")
_UNIT_AFTER = re.compile(r"\s*[元块角分万亿]")
_TIME_BEFORE = re.compile(r"\d[:：]$")


def _amount_or_time(text: str, start: int, end: int) -> bool:
    return bool(
        _DECIMAL_END.search(text[start:end])
        or _UNIT_AFTER.match(text, end)
        or _TIME_BEFORE.search(text, 0, start)
    )


def _merged(spans: Iterator[tuple[int, int]], skip: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, in order; none that touches a case number."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if any(start < s_end and s_start < end for s_start, s_end in skip):
            continue
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _mask_email(match: re.Match[str]) -> str:
    local, domain = match.group().rsplit("@", 1)
    return f"{local[0]}{MASK * 3}@{domain}"


def is_resident_id(raw: str) -> bool:
    """Whether ``raw`` could be a resident ID number: 15 or 18 characters (full-width ones and
    the separators ``RESIDENT_ID`` allows read as written plainly) with a real birth date and,
    in the 18-character form, the right check character."""
    n = _plain_id(raw)
    if len(n) == 15 and n.isdigit():
        return _real_date("19" + n[6:12])
    if len(n) != 18 or not n[:17].isdigit():
        return False
    check = ID_CHECK[sum(w * int(d) for w, d in zip(ID_WEIGHTS, n[:17], strict=True)) % 11]
    return n[17].upper() == check and _real_date(n[6:14])


def _plain_id(raw: str) -> str:
    """``raw`` as the ASCII characters of an ID number: NFKC (full-width digits and letters),
    any script's digits as 0-9, without the separators between its groups."""
    plain = unicodedata.normalize("NFKC", raw)
    return "".join(str(int(ch)) if ch.isdecimal() else ch for ch in plain if ch not in " -")


def _real_date(yyyymmdd: str) -> bool:
    try:
        return 1900 <= date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])).year < 2100
    except ValueError:
        return False


def _mask_id(raw: str, keep: Container[str]) -> str:
    if _plain_id(raw) in keep or not is_resident_id(raw):
        return raw
    # The first three digits stay, and the check character: derived from the rest.
    last = len(raw) - 1 if len(_plain_id(raw)) == 18 else len(raw)
    return "".join(
        MASK if ID_HEAD <= i < last and ch not in ID_SEPARATORS else ch for i, ch in enumerate(raw)
    )


def _head(raw: str) -> int | None:
    """How many leading digits stay: a country code, the trunk 0, then the mobile prefix
    (three digits) or the area code (two after 010 and 02X, three otherwise); None for a
    number that is none of these (no area code, a 400/800 number)."""
    digits = "".join(str(int(ch)) for ch in raw if ch.isdecimal())  # full-width ０-９ too
    international = raw.lstrip().startswith("+")
    cc = 0
    if digits.startswith("0086"):
        cc = 4
    elif digits.startswith("86") and (international or len(digits) >= 12):
        cc = 2
    national = digits[cc:]
    trunk = 1 if national.startswith("0") else 0
    national = national[trunk:]
    if re.match(r"1[3-9]\d{9}$", national):
        return cc + trunk + 3
    if not (trunk or cc) or (not trunk and national[:3] in ("400", "800")):
        return None
    return cc + trunk + (2 if national[:1] == "2" or national.startswith("10") else 3)


def mask_number(raw: str) -> str:
    """``raw`` (one phone number as written) with its middle digits masked."""
    head = _head(raw)
    if head is None:
        return raw
    digits, tail = [ch for ch in raw if ch.isdecimal()], TAIL
    if len(digits) - head - tail < MIN_MASKED:
        head = min(head, max(0, len(digits) - tail - MIN_MASKED))
        tail = min(tail, max(0, len(digits) - head - MIN_MASKED))
    out, seen = [], 0
    for ch in raw:
        if ch.isdecimal():
            seen += 1
            if head < seen <= len(digits) - tail:
                ch = MASK
        out.append(ch)
    return "".join(out)


__all__ = ["is_resident_id", "mask_contacts", "mask_number"]
