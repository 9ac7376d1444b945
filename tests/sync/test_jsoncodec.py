"""The engine's JSON codec: orjson when installed, the standard library otherwise, one result."""

from __future__ import annotations

import json
import math

import pytest

from sync import jsoncodec

DOCS = [
    {"title": "井盖缺失", "lat": 33.744053, "n": [1, -2, 2.5, None, True, False], "e": {}},
    {"b": 1, "a": {"z": "路\n灯\u2028", "y": []}, "q": 'quote " and \\ slash'},
]


@pytest.fixture(params=["orjson", "stdlib"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        monkeypatch.setattr(jsoncodec, "_orjson", None)
    elif not jsoncodec.fast():
        pytest.skip("orjson is not installed")
    return str(request.param)


@pytest.mark.parametrize("doc", DOCS)
def test_both_ways_give_the_standard_librarys_values(codec: str, doc: dict[str, object]) -> None:
    text = jsoncodec.dumps(doc)
    assert json.loads(text) == doc
    assert list(json.loads(text)) == sorted(doc)  # keys sorted
    assert "井盖" in text or "路" in text  # non-ASCII kept as it is
    assert jsoncodec.loads(text) == doc
    assert jsoncodec.loads(json.dumps(doc).encode("utf-16")) == doc  # encodings detected


def test_what_orjson_refuses_the_standard_library_decides(codec: str) -> None:
    assert math.isnan(jsoncodec.loads(b'{"a": NaN}')["a"])
    assert jsoncodec.dumps({1: "a"}) == json.dumps({1: "a"}, ensure_ascii=False)
    assert jsoncodec.dumps({"big": 2**70}) == f'{{"big": {2**70}}}'
    for broken in (b'{"a": ', b"\xff\xfe{", b"[1, 2"):
        with pytest.raises(ValueError):
            jsoncodec.loads(broken)
