"""The NUL guard (server/api/nul.py) refuses U+0000 wherever a request can carry it — path,
query name or value (escaped or raw), form field, JSON value or key at any depth — and reads
nothing it need not on the common request (a JSON body, no query string)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask, request

from shared_models.schemas import NUL_MESSAGE

SHAPE = {"code", "message", "message_zh", "errors"}
PROBE = "/api/nul-probe"


@pytest.fixture
def probe(app: Flask) -> Flask:
    """A route that reads nothing itself: what passes the guard gets 200."""

    @app.route(f"{PROBE}/<word>", methods=["GET", "POST"])
    def nul_probe(word: str) -> Any:
        return {"args_parsed": "args" in request.__dict__}

    return app


def refused(resp: Any, field: str) -> None:
    assert resp.status_code == 422 and set(resp.json) == SHAPE, resp.get_data(as_text=True)
    assert resp.json["errors"] == {field: [NUL_MESSAGE]}


@pytest.mark.parametrize(
    ("url", "kwargs", "field"),
    [
        (f"{PROBE}/a%00b", {}, "word"),
        (f"{PROBE}/x?q=a%00", {}, "q"),
        (f"{PROBE}/x?ok=1&q=%00&q=fine", {}, "q"),
        (f"{PROBE}/x?%00q=1", {}, "\x00q"),
        (f"{PROBE}/x", {"environ_overrides": {"QUERY_STRING": "q=\x00"}}, "q"),
        (f"{PROBE}/x", {"data": {"f": "a\x00"}}, "f"),
        (f"{PROBE}/x", {"data": {"f": "a\x00"}, "with_file": True}, "f"),  # multipart
        (f"{PROBE}/x", {"json": {"a": {"b": ["x\x00"]}}}, "a"),
        (f"{PROBE}/x", {"json": {"k\x00": 1}}, "k\x00"),
        (f"{PROBE}/x", {"json": "\x00"}, "_schema"),
        (
            f"{PROBE}/x",
            {"data": b'{"a": "\\u0000"}', "content_type": "application/json; charset=utf-8"},
            "a",
        ),
        (f"{PROBE}/x?q=%00", {"json": {"a": 1}}, "q"),
    ],
)
def test_a_nul_is_refused_wherever_it_hides(probe, client, url, kwargs, field):
    if kwargs.get("with_file"):  # a fresh file for each engine's run
        kwargs = {"data": {**kwargs["data"], "file": (io.BytesIO(b"jpg"), "x.jpg")}}
    method = client.post if "data" in kwargs or "json" in kwargs else client.get
    refused(method(url, **kwargs), field)


def test_clean_requests_pass_and_the_common_one_parses_no_query(probe, client):
    for url, kwargs in (
        (f"{PROBE}/x?q=%2500&r=%01", {}),  # the text "%00" and U+0001 are not NUL
        (f"{PROBE}/x", {"data": {"f": "光明路"}}),
        (f"{PROBE}/x", {"json": {"a": "\\u0000 written out", "b": ["\x01"]}}),
    ):
        method = client.post if kwargs else client.get
        assert method(url, **kwargs).status_code == 200, url
    resp = client.post(f"{PROBE}/x", json={"description": "垃圾堆"})
    assert resp.status_code == 200 and resp.json == {"args_parsed": False}
    assert client.get(f"{PROBE}/x?q=1").json == {"args_parsed": False}
    assert client.get(f"{PROBE}/x?q=%00").status_code == 422
