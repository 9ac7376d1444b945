"""The monthly assessment over HTTP on the story of ``story.py``: scores worked out by hand,
entry validation (nothing half-written), publishing, who sees what, the yearly ranking.

October's indicators (see test_figures.py): MUNICIPAL handled A on time and B late (50 %),
closed A of A B (50 %), one check, passed (返工率 0 %), one 5-star rating (满意率 100 %) →
数字城管 = (40×50 + 30×50 + 20×100 + 10×(100 − 0)) / 100 = 65.00. Every other unit had no
case in October → 数字城管 100 (full marks, flagged ``no_cases``).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from server.db import database
from server.services.demo import load_json
from tests.api.case_helpers import row_counts
from tests.factories import (
    ADMIN,
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    MUNICIPAL_HANDLER,
    login,
    login_phone,
)
from tests.indicators.test_indicator_api import has_zh

CODES = [d["code"] for d in load_json("departments.json")["departments"]]
# October's parts: special, 综治, 文明办, 城管办, 创园.
OCTOBER = {
    # 0.5×65 + 0.4×90 + 0.02×100 + 0.04×95 + 0.02×98 + 0.02×80
    # = 32.5 + 36 + 2 + 3.8 + 1.96 + 1.6 = 77.86
    "MUNICIPAL": (90, 100, 95, 98, 80),
    # 0.5×100 + 0.4×85.5 + 0.1×90 = 50 + 34.2 + 9 = 93.2 (综治+文明办+城管办+创园 weigh 10 %)
    "SANITATION": (85.5, 90, 90, 90, 90),
    "POWER": (75, 75, 75, 75, 75),  # 50 + 30 + 7.5 = 87.5
    "GREENING": (70, 70, 70, 70, 70),  # 50 + 28 + 7 = 85.00 → 良好, on the boundary
    "WATER": (50, 60, 60, 60, 60),  # 50 + 20 + 6 = 76.00
    "GAS": (40, 50, 50, 50, 50),  # 50 + 16 + 5 = 71.00 → 不合格
}
OTHERS = (62.5, 75, 75, 75, 75)  # the other eight: 50 + 25 + 7.5 = 82.50
PARTS = ("special", "zongzhi", "wenming", "chengguan", "chuangyuan")


def units(table: dict[str, tuple[float, ...]], default: tuple[float, ...]) -> list[Any]:
    return [{"department": c, **dict(zip(PARTS, table.get(c, default), strict=True))}
            for c in CODES]  # fmt: skip


def call(client: FlaskClient, method: str, url: str, headers: Any, status: int, **kw: Any) -> Any:
    resp = client.open(url, method=method, headers=headers, **kw)
    assert resp.status_code == status, (method, url, resp.status_code, resp.data[:500])
    return resp.json if resp.data else None


def enter_october(client: FlaskClient, office: dict[str, str]) -> None:
    call(client, "PUT", "/api/assessments/2026-10/scores", office, 200,
         json={"units": units(OCTOBER, OTHERS)})  # fmt: skip
    for dept, rule, count, reason in [
        ("MUNICIPAL", "award_city", 1, "市级表扬：井盖专项整治"),  # +0.5
        ("MUNICIPAL", "extra_task", 7, "协助清理非本单位职责问题7处"),  # 3.5 → capped at 3
        ("MUNICIPAL", "media_city", 1, "市级媒体曝光井盖缺失"),  # −0.5
        ("SANITATION", "named_criticism", 1, "县级通报：垃圾清运不及时"),  # −2
    ]:
        call(client, "POST", "/api/assessments/2026-10/adjustments", office, 201,
             json={"department": dept, "rule": rule, "count": count, "reason": reason})  # fmt: skip


def test_the_october_bulletin(client: FlaskClient, office: dict[str, str]) -> None:
    draft = call(client, "GET", "/api/assessments/2026-10", office, 200)
    municipal = next(u for u in draft["units"] if u["department"] == "MUNICIPAL")
    assert municipal["parts"]["digital"] == 65.0 and municipal["total"] is None
    assert municipal["digital"]["indicators"]["on_time_handle"] == {
        "value": 50.0, "numerator": 1, "denominator": 2}  # fmt: skip
    assert municipal["missing"] == list(PARTS) and not draft["complete"]

    enter_october(client, office)
    b = call(client, "POST", "/api/assessments/2026-10/publish", office, 200)
    got = {u["department"]: (u["rank"], u["total"], u["grade"]["name_zh"]) for u in b["units"]}
    # MUNICIPAL: 77.86 + (0.5 + 3) − 0.5 = 80.86; SANITATION: 93.2 − 2 = 91.2
    assert got["MUNICIPAL"] == (12, 80.86, "合格")
    assert got["SANITATION"] == (1, 91.2, "优秀")
    assert got["POWER"] == (2, 87.5, "良好")
    assert got["GREENING"] == (3, 85.0, "良好")
    assert got["WATER"] == (13, 76.0, "合格")
    assert got["GAS"] == (14, 71.0, "不合格")
    assert {got[c] for c in CODES if c not in OCTOBER} == {(4, 82.5, "合格")}  # eight share 4th
    assert [u["department"] for u in b["units"]][:3] == ["SANITATION", "POWER", "GREENING"]
    municipal = next(u for u in b["units"] if u["department"] == "MUNICIPAL")
    assert (municipal["bonus"], municipal["penalty"]) == (3.5, 0.5)
    assert [a["points"] for a in municipal["adjustments"]] == [0.5, 3.5, 0.5]  # entries as made
    assert next(u for u in b["units"] if u["department"] == "GAS")["digital"]["no_cases"]
    assert b["named"] == {
        "first": ["SANITATION"],
        "last": ["GAS"],
        "praised": ["SANITATION", "POWER"],
        "criticised": ["WATER", "GAS"],
    }
    assert b["status"] == "published" and b["complete"]


def test_published_is_frozen_and_for_every_staff_member(
    app: Flask, client: FlaskClient, office: dict[str, str]
) -> None:
    enter_october(client, office)
    published = call(client, "POST", "/api/assessments/2026-10/publish", office, 200)
    # the cases change afterwards (a rating rewritten): the published bulletin does not
    with database(app).session() as s:
        s.execute(
            text("UPDATE case_events SET data = :d WHERE action = 'rate'"), {"d": '{"stars": 1}'}
        )
    for who in (HANDLER, DISPATCHER, INSPECTOR, ADMIN):
        assert call(client, "GET", "/api/assessments/2026-10", login(client, who), 200) == published
    # and nothing can be entered into it any more
    body = call(client, "PUT", "/api/assessments/2026-10/scores", office, 409,
                json={"units": [{"department": "GAS", "special": 99}]})  # fmt: skip
    assert body["code"] == "assessment_published" and "2026-10" in body["message_zh"]
    call(client, "POST", "/api/assessments/2026-10/adjustments", office, 409,
         json={"department": "GAS", "rule": "award_city", "reason": "x"})  # fmt: skip
    call(client, "POST", "/api/assessments/2026-10/publish", office, 409)
    # withdrawn: back to the office only, and recomputed from today's data (the rating of A
    # is now 1 star: MUNICIPAL's 满意率 0 % → 数字城管 (2000 + 1500 + 0 + 1000)/100 = 45)
    call(client, "POST", "/api/assessments/2026-10/withdraw", office, 200)
    call(client, "GET", "/api/assessments/2026-10", login(client, HANDLER), 404)
    draft = call(client, "GET", "/api/assessments/2026-10", office, 200)
    assert (
        next(u for u in draft["units"] if u["department"] == "MUNICIPAL")["parts"]["digital"]
        == 45.0
    )
    call(client, "POST", "/api/assessments/2026-10/withdraw", office, 409)


def test_drafts_are_the_offices(app: Flask, client: FlaskClient, office: dict[str, str]) -> None:
    call(client, "PUT", "/api/assessments/2026-10/scores", office, 200,
         json={"units": [{"department": "GAS", "special": 60}]})  # fmt: skip
    for who in (HANDLER, MUNICIPAL_HANDLER, DISPATCHER, INSPECTOR):
        h = login(client, who)
        body = call(client, "GET", "/api/assessments/2026-10", h, 404)
        assert body["code"] == "assessment_not_found"
        call(client, "PUT", "/api/assessments/2026-10/scores", h, 403,
             json={"units": [{"department": "GAS", "special": 100}]})  # fmt: skip
        call(client, "POST", "/api/assessments/2026-10/adjustments", h, 403,
             json={"department": "GAS", "rule": "award_city", "reason": "x"})  # fmt: skip
        call(client, "POST", "/api/assessments/2026-10/publish", h, 403)
        assert call(client, "GET", "/api/assessments?year=2026", h, 200) == {"items": []}
        call(client, "GET", "/api/assessments/2026-10/bulletin.xlsx", h, 404)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    call(client, "GET", "/api/assessments/2026-10", citizen, 403)
    call(client, "GET", "/api/assessments/years/2026", citizen, 403)
    assert [m["month"] for m in call(client, "GET", "/api/assessments?year=2026", office, 200)[
        "items"]] == ["2026-10"]  # fmt: skip


@pytest.mark.parametrize(
    "unit, field",
    [
        ({"department": "GAS", "special": 100.01}, "special"),
        ({"department": "GAS", "special": -1}, "special"),
        ({"department": "GAS", "special": 92.555}, "special"),
        ({"department": "GAS", "special": "ninety"}, "special"),
        ({"department": "NOPE", "special": 90}, "department"),
        ({"department": "GAS"}, "department"),
        ({"department": "GAS", "bonus": 5}, "bonus"),
    ],
)
def test_bad_scores_write_nothing(
    client: FlaskClient, office: dict[str, str], unit: dict[str, Any], field: str
) -> None:
    good = {"department": "MUNICIPAL", "special": 90}
    body = call(client, "PUT", "/api/assessments/2026-10/scores", office, 422,
                json={"units": [good, unit]})  # fmt: skip
    assert body["code"] == "validation_failed" and body["message_zh"]
    assert field in body["errors"]["units"]["1"], body
    assert all(has_zh(m) for m in body["errors"]["units"]["1"][field]), body
    # the good unit in the same request was not written either
    draft = call(client, "GET", "/api/assessments/2026-10", office, 200)
    assert (
        next(u for u in draft["units"] if u["department"] == "MUNICIPAL")["parts"]["special"]
        is None
    )
    assert draft["updated_at"] is None  # not even the month was created


def test_a_refused_entry_leaves_an_entered_month_as_it_was(
    app: Flask, client: FlaskClient, office: dict[str, str]
) -> None:
    """All or nothing over existing rows too: the good unit beside a bad one keeps its old
    parts, and a refused adjustment, deletion or publication writes no row."""
    enter_october(client, office)
    draft, before = call(client, "GET", "/api/assessments/2026-10", office, 200), row_counts(app)
    changed = {"department": "MUNICIPAL", "special": 10, "zongzhi": 10}
    for units in ([changed, {"department": "GAS", "special": 101}],
                  [changed, {"department": "NOPE", "special": 1}],
                  [changed, changed]):  # fmt: skip
        call(client, "PUT", "/api/assessments/2026-10/scores", office, 422, json={"units": units})
    call(client, "POST", "/api/assessments/2026-10/adjustments", office, 422,
         json={"department": "GAS", "rule": "award_city", "count": 0, "reason": "x"})  # fmt: skip
    call(client, "DELETE", "/api/assessments/2026-10/adjustments/999", office, 404)
    call(client, "POST", "/api/assessments/2026-11/publish", office, 409)
    assert call(client, "GET", "/api/assessments/2026-10", office, 200) == draft
    assert row_counts(app) == before


def test_more_bad_input(client: FlaskClient, office: dict[str, str]) -> None:
    twice = [{"department": "GAS", "special": 1}, {"department": "GAS", "special": 2}]
    body = call(
        client, "PUT", "/api/assessments/2026-10/scores", office, 422, json={"units": twice}
    )
    assert body["errors"]["units"]["1"]["department"] == ["Listed twice. 重复录入。"]
    call(client, "PUT", "/api/assessments/2026-10/scores", office, 422, json={"units": []})
    call(client, "PUT", "/api/assessments/2026-13/scores", office, 422,
         json={"units": [{"department": "GAS", "special": 1}]})  # fmt: skip
    call(client, "GET", "/api/assessments/october", office, 422)
    for bad in ({"department": "GAS", "rule": "bribe", "reason": "x"},
                {"department": "GAS", "rule": "award_city", "count": 0, "reason": "x"},
                {"department": "GAS", "rule": "award_city", "reason": ""},
                {"department": "NOPE", "rule": "award_city", "reason": "x"}):  # fmt: skip
        body = call(client, "POST", "/api/assessments/2026-10/adjustments", office, 422, json=bad)
        assert body["errors"] and body["message_zh"]
    call(client, "DELETE", "/api/assessments/2026-10/adjustments/999", office, 404)
    # November is still running: it cannot be published yet
    body = call(client, "POST", "/api/assessments/2026-11/publish", office, 409)
    assert body["code"] == "assessment_month_open" and "2026-12-01" in body["message"]


def test_publishing_needs_every_part_of_every_unit(
    client: FlaskClient, office: dict[str, str]
) -> None:
    some = [u for u in units({}, OTHERS) if u["department"] != "GAS"]
    call(client, "PUT", "/api/assessments/2026-09/scores", office, 200, json={"units": some})
    call(client, "PUT", "/api/assessments/2026-09/scores", office, 200,
         json={"units": [{"department": "GAS", "special": 80, "zongzhi": 80}]})  # fmt: skip
    body = call(client, "POST", "/api/assessments/2026-09/publish", office, 422)
    assert body["code"] == "assessment_incomplete"
    assert body["errors"]["units"] == {"GAS": {"missing": ["wenming", "chengguan", "chuangyuan"]}}
    # a removed adjustment no longer counts
    adj = call(client, "POST", "/api/assessments/2026-09/adjustments", office, 201,
               json={"department": "GAS", "rule": "media_national", "reason": "曝光"})  # fmt: skip
    call(client, "DELETE", f"/api/assessments/2026-09/adjustments/{adj['id']}", office, 204)
    assert call(client, "GET", "/api/assessments/2026-09", office, 200)["units"][0]["penalty"] == 0


def test_the_year(client: FlaskClient, office: dict[str, str]) -> None:
    # September: nobody had cases (数字城管 100); MUNICIPAL scored 60 on every part, others 80:
    # MUNICIPAL 50 + 0.5 × 60 = 80.00, the others 50 + 0.5 × 80 = 90.00
    call(client, "PUT", "/api/assessments/2026-09/scores", office, 200,
         json={"units": units({"MUNICIPAL": (60,) * 5}, (80,) * 5)})  # fmt: skip
    call(client, "POST", "/api/assessments/2026-09/publish", office, 200)
    enter_october(client, office)
    call(client, "POST", "/api/assessments/2026-10/publish", office, 200)
    y = call(client, "GET", "/api/assessments/years/2026", login(client, HANDLER), 200)
    assert y["months"] == ["2026-09", "2026-10"]
    got = {u["department"]: (u["rank"], u["mean"], u["grade"]["name_zh"]) for u in y["units"]}
    assert got["SANITATION"] == (1, 90.6, "优秀")  # (90 + 91.2) / 2
    assert got["POWER"] == (2, 88.75, "良好")  # (90 + 87.5) / 2
    assert got["GREENING"] == (3, 87.5, "良好")  # (90 + 85) / 2
    assert got["WATER"] == (12, 83.0, "合格")  # (90 + 76) / 2
    assert got["GAS"] == (13, 80.5, "合格")  # (90 + 71) / 2
    assert got["MUNICIPAL"] == (14, 80.43, "合格")  # (80 + 80.86) / 2
    assert {got[c] for c in CODES if c not in OCTOBER} == {(4, 86.25, "良好")}  # (90 + 82.5) / 2
    assert y["named"]["first"] == ["SANITATION"] and y["named"]["last"] == ["MUNICIPAL"]
    months = call(client, "GET", "/api/assessments?year=2026", login(client, HANDLER), 200)
    assert [m["status"] for m in months["items"]] == ["published", "published"]


def test_rules_and_openapi(client: FlaskClient, office: dict[str, str]) -> None:
    r = call(client, "GET", "/api/assessments/rules", login(client, HANDLER), 200)
    assert [(p["key"], p["weight"]) for p in r["parts"]] == [
        ("digital", 0.5), ("special", 0.4), ("zongzhi", 0.02), ("wenming", 0.04),
        ("chengguan", 0.02), ("chuangyuan", 0.02)]  # fmt: skip
    assert [(g["name_zh"], g["min_score"]) for g in r["grades"]] == [
        ("优秀", 90.0), ("良好", 85.0), ("合格", 75.0), ("不合格", None)]  # fmt: skip
    extra = next(a for a in r["adjustments"] if a["code"] == "extra_task")
    assert (extra["points"], extra["monthly_cap"]) == (0.5, 3.0)
    spec = client.get("/api/openapi.json").json
    for path in ("/api/assessments/{month}", "/api/assessments/{month}/scores",
                 "/api/assessments/{month}/publish", "/api/assessments/years/{year}",
                 "/api/assessments/{month}/bulletin.xlsx"):  # fmt: skip
        assert path in spec["paths"], path
    assert "Bulletin" in spec["components"]["schemas"]
