"""The category catalogue: the bundled file is valid and complete, bad documents are refused
with field errors, and search finds what citizens type."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared_models import catalogue
from shared_models.catalogue import default_catalogue, default_document, parse_catalogue, search
from shared_models.enums import CategoryKind, TimeUnit
from shared_models.errors import InvalidInput


def _doc() -> dict[str, Any]:
    return copy.deepcopy(default_document())


def test_bundled_catalogue_is_complete() -> None:
    cats = default_catalogue()
    codes = {c.code for c in cats}
    assert len(cats) >= 70
    assert {c.class_name for c in cats if c.kind is CategoryKind.COMPONENT} == {
        "公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施",
    }  # fmt: skip
    assert {c.class_name for c in cats if c.kind is CategoryKind.EVENT} == {
        "市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他事件",
    }  # fmt: skip
    named = {
        catalogue.MANHOLE_COVER: "井盖",
        catalogue.EXPOSED_GARBAGE: "暴露垃圾",
        catalogue.STREET_VENDING: "占道经营",
        catalogue.ILLEGAL_ADS: "违规广告",
        catalogue.PUBLIC_TOILET: "公共厕所",
        catalogue.FRONTAGE_DUTY: "门前三包",
    }
    for code, name in named.items():
        assert code in codes
        assert next(c for c in cats if c.code == code).name == name
    for c in cats:
        assert c.code.startswith(c.class_code)
        assert c.code.startswith("BJ" if c.kind is CategoryKind.COMPONENT else "SJ")
        assert set(c.limits) == {"verify", "register", "dispatch", "handle", "check"}
        assert c.department and c.name_en and c.keywords


def test_missing_manhole_is_a_short_calendar_hour_emergency() -> None:
    cover = next(c for c in default_catalogue() if c.code == catalogue.MANHOLE_COVER)
    assert cover.time_unit is TimeUnit.CALENDAR
    assert cover.limits["handle"] <= 4
    assert cover.needs_verify is False


def test_subclass_inherits_class_defaults_and_overrides_some_limits() -> None:
    garbage = next(c for c in default_catalogue() if c.code == catalogue.EXPOSED_GARBAGE)
    assert garbage.department == "SANITATION"
    assert garbage.limits["handle"] == 2
    assert garbage.limits["verify"] == 1  # from the class defaults


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("井盖", "BJ0101"),
        ("下水道盖", "BJ0101"),
        ("窨井", "BJ0101"),
        ("Manhole", "BJ0101"),
        ("bj0101", "BJ0101"),
        ("路边井盖坏了", "BJ0101"),
        ("摆摊", "SJ0501"),
        ("street vendor", "SJ0501"),
        ("垃圾", "SJ0101"),
        ("小广告", "SJ0202"),
        ("公厕", "BJ0301"),
        ("toilet", "BJ0301"),
        ("门前三包", "SJ0508"),
    ],
)
def test_search_finds_what_citizens_type(query: str, first: str) -> None:
    assert search(default_catalogue(), query)[0].code == first


def test_search_ranks_name_matches_before_keyword_matches() -> None:
    codes = [c.code for c in search(default_catalogue(), "井盖")]
    assert codes[0] == "BJ0101"
    assert "BJ0103" in codes  # 上水井盖 is a keyword of 供水设施
    assert search(default_catalogue(), "zzz-nothing") == []
    assert search(default_catalogue(), "  ") == []


def test_search_by_code_prefix() -> None:
    assert [c.code for c in search(default_catalogue(), "sj04")][:2] == ["SJ0401", "SJ0402"]


def test_bad_documents_are_refused_with_field_errors() -> None:
    doc = _doc()
    sub = doc["classes"][0]["subclasses"][0]
    sub["code"] = "SJ0101"  # wrong kind prefix for a component class
    sub["limits"] = {"handle": -1, "lunch": 2}
    sub["needs_verify"] = "yes"
    doc["classes"][1]["subclasses"][1]["time_unit"] = "lunar"
    with pytest.raises(InvalidInput) as info:
        parse_catalogue(doc)
    errors = info.value.errors["classes"]
    first = errors["0"]["subclasses"]["0"]
    assert set(first) >= {"code", "limits", "needs_verify"}
    assert set(first["limits"]) >= {"handle", "lunch"}
    assert "time_unit" in errors["1"]["subclasses"]["1"]


def test_duplicate_codes_and_missing_limits_are_refused() -> None:
    doc = _doc()
    subs = doc["classes"][0]["subclasses"]
    subs[1]["code"] = subs[0]["code"]
    doc["classes"][2]["defaults"]["limits"] = {"handle": 4}
    with pytest.raises(InvalidInput) as info:
        parse_catalogue(doc)
    errors = info.value.errors["classes"]
    assert "code" in errors["0"]["subclasses"]["1"]
    assert "limits" in errors["2"]["subclasses"]["0"]


@pytest.mark.parametrize("doc", [None, [], {}, {"classes": []}, {"classes": "x"}])
def test_not_a_catalogue(doc: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_catalogue(doc)
    assert "classes" in info.value.errors


def test_wrong_class_kind_is_refused() -> None:
    doc = _doc()
    doc["classes"][0]["kind"] = "thing"
    doc["classes"][1]["code"] = "SJ02"  # a component class with an event code
    with pytest.raises(InvalidInput) as info:
        parse_catalogue(doc)
    assert "kind" in info.value.errors["classes"]["0"]
    assert "code" in info.value.errors["classes"]["1"]


def test_to_dict_round_trip() -> None:
    cover = default_catalogue()[0]
    assert catalogue.make_category(**cover.to_dict()) == cover
