"""Indicators and chart data over HTTP: same figures as the service, who may see what, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import (
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    MUNICIPAL_HANDLER,
    OTHER_INSPECTOR,
    login,
    login_phone,
)


def has_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def get(client: FlaskClient, url: str, headers: dict[str, str], status: int = 200) -> Any:
    resp = client.get(url, headers=headers)
    assert resp.status_code == status, (url, resp.status_code, resp.json)
    return resp.json


def test_the_api_gives_the_services_figures_with_formulas(
    client: FlaskClient, story: dict[str, str]
) -> None:
    body = get(client, "/api/indicators?month=2026-11", login(client, DISPATCHER))
    assert body["period"] == {"from": "2026-11-01", "to": "2026-12-01", "label": "2026-11"}
    assert body["as_of"].startswith("2026-11-20T04:00:00")  # now (12:00 Beijing), in UTC
    [city] = body["rows"]
    assert city["figures"]["on_time_handle"] == {"value": 71.43, "numerator": 5, "denominator": 7}
    assert city["counts"]["handle_overdue"] == 1
    handle = next(d for d in body["definitions"] if d["key"] == "on_time_handle")
    assert handle["formula_zh"].startswith("按时处置率 = 按时处置数 ÷ (")
    assert handle["denominator"] == ["handle_on_time", "handle_late", "handle_overdue"]
    assert {c["key"] for c in body["counts"]} == set(city["counts"])
    # the same period as dates
    again = get(client, "/api/indicators?from=2026-11-01&to=2026-12-01", login(client, DISPATCHER))
    assert again["rows"] == body["rows"]


def test_no_cases_gives_null(client: FlaskClient, story: dict[str, str]) -> None:
    body = get(client, "/api/indicators?month=2026-09", login(client, DISPATCHER))
    assert {f["value"] for f in body["rows"][0]["figures"].values()} == {None}


def test_departments_and_inspectors_see_their_own_row(
    client: FlaskClient, story: dict[str, str]
) -> None:
    municipal = login(client, MUNICIPAL_HANDLER)
    body = get(client, "/api/indicators?month=2026-11&dimension=department", municipal)
    assert [r["key"] for r in body["rows"]] == ["MUNICIPAL"]
    assert body["rows"][0]["figures"]["on_time_handle"]["denominator"] == 6
    sanitation = get(client, "/api/indicators?month=2026-11&dimension=department",
                     login(client, HANDLER))  # fmt: skip
    assert [r["key"] for r in sanitation["rows"]] == ["SANITATION"]
    get(client, "/api/indicators?month=2026-11", municipal)  # the city's total: published
    get(client, "/api/indicators?month=2026-11&dimension=grid", municipal, 403)
    get(client, "/api/indicators?month=2026-11&dimension=inspector", municipal, 403)

    inspector = login(client, INSPECTOR)
    mine = get(client, "/api/indicators?month=2026-11&dimension=inspector", inspector)
    assert [r["key"] for r in mine["rows"]] == ["inspector1"]
    other = get(client, "/api/indicators?month=2026-11&dimension=inspector",
                login(client, OTHER_INSPECTOR))  # fmt: skip
    assert [r["key"] for r in other["rows"]] == ["inspector7"]
    get(client, "/api/indicators?month=2026-11&dimension=department", inspector, 403)

    everyone = get(client, "/api/indicators?month=2026-11&dimension=department",
                   login(client, DISPATCHER))  # fmt: skip
    assert {"MUNICIPAL", "SANITATION", "GAS"} <= {r["key"] for r in everyone["rows"]}


def test_citizens_and_strangers_are_kept_out(
    app: Flask, client: FlaskClient, story: dict[str, str]
) -> None:
    citizen = login_phone(client, app, CITIZEN_PHONE)
    get(client, "/api/indicators", citizen, 403)
    get(client, "/api/indicators/charts/daily", citizen, 403)
    assert client.get("/api/indicators").status_code == 401
    handler = login(client, HANDLER)
    for chart in ("daily", "on-time", "lights", "map", "supervision"):
        get(client, f"/api/indicators/charts/{chart}", handler, 403)


@pytest.mark.parametrize(
    "query, field",
    [
        ("month=2026-13", "month"),
        ("month=26-11", "month"),
        ("from=2026-11-01", "to"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-11-01", "to"),
        ("month=2026-11&from=2026-11-01&to=2026-11-02", "month"),
        ("dimension=planet", "dimension"),
        ("from=yesterday&to=2026-11-02", "from"),
        ("month=2026-11&monht=2026-10", "monht"),  # a misspelt parameter is not ignored
    ],
)
def test_bad_periods_are_422_in_both_languages(
    client: FlaskClient, city: None, query: str, field: str
) -> None:
    body = get(client, f"/api/indicators?{query}", login(client, DISPATCHER), 422)
    assert body["code"] == "validation_failed" and body["message_zh"]
    assert field in body["errors"], body
    assert all(has_zh(m) for m in body["errors"][field]), body  # field messages in Chinese too


def test_chart_data(client: FlaskClient, story: dict[str, str], clock: Any) -> None:
    desk = login(client, DISPATCHER)
    daily = get(client, "/api/indicators/charts/daily?month=2026-11", desk)
    assert len(daily["days"]) == 30 and daily["total"] == 7  # D (merged) left out
    nov = {d: i for i, d in enumerate(daily["days"])}
    assert daily["series"]["citizen"][nov["2026-11-02"]] == 1  # C; D was merged into it
    assert daily["series"]["inspector"][nov["2026-11-08"]] == 1  # J
    assert sum(daily["series"]["citizen"]) == 6

    lights = get(client, "/api/indicators/charts/lights", desk)
    # open now: F (handle due Nov 5: red, MUNICIPAL) and G (register due 12:05, yellow from
    # 80% of its 15 minutes = 12:02: still green at 12:00, not yet dispatched)
    assert {k: lights["city"][k] for k in ("red", "yellow", "green", "total")} == {
        "red": 1, "yellow": 0, "green": 1, "total": 2}  # fmt: skip
    units = {u["key"]: (u["red"], u["yellow"], u["green"]) for u in lights["units"]}
    assert units == {"MUNICIPAL": (1, 0, 0), None: (0, 0, 1)}

    m = get(client, "/api/indicators/charts/map", desk)
    assert [p["id"] for p in m["points"]] == [story["F"], story["G"]]  # most overdue first
    assert [p["light"] for p in m["points"]] == ["red", "green"]
    assert m["total"] == 2 and not m["truncated"]
    [cell] = m["cells"]
    assert (cell["grid"], cell["red"], cell["green"]) == ("410402001001001", 1, 1)
    assert get(client, "/api/indicators/charts/map?limit=1", desk)["truncated"] is True

    on_time = get(client, "/api/indicators/charts/on-time?month=2026-11", desk)
    municipal = next(u for u in on_time["units"] if u["key"] == "MUNICIPAL")
    assert municipal["rates"]["on_time_handle"] == 83.33
    assert municipal["counts"]["on_time_handle"] == 6

    sup = client.post(f"/api/cases/{story['F']}/supervisions", json={"note": "请尽快处置"},
                      headers=desk)  # fmt: skip
    assert sup.status_code == 201, sup.json
    chart = get(client, "/api/indicators/charts/supervision?month=2026-11", desk)
    assert [(u["key"], u["notes"], u["cases"], u["open_now"]) for u in chart["units"]] == [
        ("MUNICIPAL", 1, 1, 1)
    ]


def test_definitions_are_documented_in_the_openapi_spec(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    for path in ("/api/indicators", "/api/indicators/definitions",
                 "/api/indicators/charts/map", "/api/indicators/charts/daily"):  # fmt: skip
        assert path in spec["paths"], path
    assert "IndicatorReport" in spec["components"]["schemas"]
