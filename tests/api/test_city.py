"""The city's map of responsibility over HTTP and the CLI: catalogue, departments, areas,
grid lookup in every coordinate system, admin imports, routing and the demo city."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.db import database
from server.models import Area, Category, Department, GridCell, RoutingRule, User
from server.services import city, city_import, demo
from shared_models.catalogue import default_document
from shared_models.geo import from_wgs84
from tests.factories import (
    ADMIN,
    CITIZEN_PHONE,
    DEMO_PASSWORD,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    INSPECTOR_CELL,
    INSPECTOR_POINT,
    MERCHANT_PHONE,
    OTHER_CELL,
    OTHER_POINT,
    OUTSIDE_POINT,
    load_city,
    login,
    login_phone,
)

ERROR_KEYS = {"code", "message", "message_zh", "errors"}


def _count(app: Any, model: Any) -> int:
    with database(app).session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _snapshot(app: Any) -> tuple[int, ...]:
    models = (Area, Category, Department, GridCell, RoutingRule, User)
    return tuple(_count(app, m) for m in models)


@pytest.fixture
def city_app(app: Any) -> Any:
    load_city(app)
    return app


def test_categories_list_is_keyset_paginated(city_app: Any, client: Any) -> None:
    seen: list[str] = []
    url = "/api/categories?limit=40"
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        seen += [c["code"] for c in resp.json["items"]]
        nxt = resp.json["next"]
        url = f"/api/categories?limit=40&after={nxt}" if nxt else ""
    assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 70


def test_categories_search_and_kind(city_app: Any, client: Any) -> None:
    resp = client.get("/api/categories", query_string={"q": "下水道盖"})
    assert resp.json["items"][0]["code"] == "BJ0101"
    assert resp.json["items"][0]["department"] == "MUNICIPAL"
    resp = client.get("/api/categories", query_string={"q": "垃圾", "kind": "event", "limit": 2})
    first = resp.json["items"]
    assert first[0]["code"] == "SJ0101" and all(c["kind"] == "event" for c in first)
    more = client.get(
        "/api/categories", query_string={"q": "垃圾", "kind": "event", "after": resp.json["next"]}
    ).json["items"]
    assert {c["code"] for c in more}.isdisjoint({c["code"] for c in first}) and more
    events = client.get("/api/categories?kind=event&limit=200").json["items"]
    assert events and all(c["code"].startswith("SJ") for c in events)


def test_category_detail_and_unknown(city_app: Any, client: Any) -> None:
    resp = client.get("/api/categories/SJ0501")
    assert resp.status_code == 200
    assert resp.json["name"] == "占道经营" and "摆摊" in resp.json["keywords"]
    assert set(resp.json["limits"]) == {"verify", "register", "dispatch", "handle", "check"}
    resp = client.get("/api/categories/XX9999")
    assert resp.status_code == 404 and resp.json["code"] == "unknown_category"


@pytest.mark.parametrize("query", ["kind=thing", "limit=0", "limit=x", "after=%%%", "after=WzFd"])
def test_bad_list_arguments_are_structured_422(city_app: Any, client: Any, query: str) -> None:
    resp = client.get(f"/api/categories?{query}")
    assert resp.status_code == 422 and set(resp.json) == ERROR_KEYS


def test_departments_and_areas(city_app: Any, client: Any) -> None:
    depts = client.get("/api/departments").json["items"]
    assert {"MUNICIPAL", "SANITATION", "XINHUA_CGJ"} <= {d["code"] for d in depts}
    districts = client.get("/api/areas?level=district").json["items"]
    assert [d["code"] for d in districts] == ["410402", "410403", "410411"]
    assert districts[0]["name"] == "新华区" and districts[0]["parent"] is None
    streets = client.get("/api/areas?parent=410402").json["items"]
    assert streets and all(len(s["code"]) == 9 and s["parent"] == "410402" for s in streets)
    page = client.get("/api/areas?limit=5").json
    assert len(page["items"]) == 5 and page["next"]


def test_locate_wgs84_returns_place_without_inspector(city_app: Any, client: Any) -> None:
    lat, lon = INSPECTOR_POINT
    resp = client.get("/api/grid/locate", query_string={"lat": lat, "lon": lon})
    assert resp.status_code == 200
    body = resp.json
    assert body["grid_code"] == INSPECTOR_CELL
    assert (body["district_name"], body["street_name"]) == ("新华区", "光明路街道")
    assert body["community_code"] == INSPECTOR_CELL[:12]
    assert not any("inspector" in key for key in body)
    assert INSPECTOR not in json.dumps(body)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_locate_converts_chinese_map_coordinates(city_app: Any, client: Any, system: str) -> None:
    # A spot 200 m inside the cell's east edge: Amap/Baidu show it ~600 m further east, so
    # read as WGS-84 their coordinates would land in the next cell.
    with database(city_app).session() as s:
        cell = s.get(GridCell, OTHER_CELL)
        assert cell is not None
        spot = (OTHER_POINT[0], cell.max_lon - 0.002)
    lat, lon = from_wgs84(*spot, system)
    resp = client.get(
        "/api/grid/locate", query_string={"lat": lat, "lon": lon, "coord_system": system}
    )
    assert resp.status_code == 200
    assert resp.json["grid_code"] == OTHER_CELL
    assert (resp.json["lat"], resp.json["lon"]) == pytest.approx(spot, abs=1e-6)
    raw = client.get("/api/grid/locate", query_string={"lat": lat, "lon": lon}).json
    assert raw.get("grid_code") != OTHER_CELL


def test_locate_outside_and_out_of_range(city_app: Any, client: Any) -> None:
    lat, lon = OUTSIDE_POINT
    resp = client.get("/api/grid/locate", query_string={"lat": lat, "lon": lon})
    assert resp.status_code == 404 and resp.json["code"] == "outside_city"
    for qs in ({"lat": 91, "lon": 113}, {"lat": 33, "lon": 181}, {"lat": "nan", "lon": 1},
               {"lat": 33}, {"lat": 33, "lon": 113, "coord_system": "utm"}):  # fmt: skip
        resp = client.get("/api/grid/locate", query_string=qs)
        assert resp.status_code == 422 and set(resp.json) == ERROR_KEYS


def test_locate_uses_polygon_inside_bbox(city_app: Any, client: Any) -> None:
    # A triangle: the bbox contains both points, the polygon only the first.
    with database(city_app).session() as s:
        cell = s.get(GridCell, INSPECTOR_CELL)
        assert cell is not None
        a, b, c, d = cell.min_lat, cell.min_lon, cell.max_lat, cell.max_lon
        doc = {"grid": [{"code": INSPECTOR_CELL, "name": cell.name,
                         "polygon": [[a, b], [a, d], [c, b]]}]}  # fmt: skip
        city_import.import_city(s, doc)
    near = (a + (c - a) * 0.1, b + (d - b) * 0.1)
    far = (a + (c - a) * 0.9, b + (d - b) * 0.9)
    with database(city_app).session() as s:
        assert city.locate(s, *near) is not None and city.locate(s, *near).code == INSPECTOR_CELL
        assert city.locate(s, *far) is None


def test_routing_most_specific_rule_wins(city_app: Any) -> None:
    xinhua, weidong = INSPECTOR_CELL, OTHER_CELL
    zhanhe = "410411001001001"
    with database(city_app).session() as s:

        def dept(cat: str, grid: str | None) -> str | None:
            found = city.route(s, cat, grid)
            return found.code if found else None

        assert dept("SJ0101", xinhua) == "SANITATION"  # category default
        assert dept("SJ0101", zhanhe) == "ZHANHE_CGJ"  # area rule beats the default
        assert dept("SJ0501", weidong) == "WEIDONG_CGJ"  # class + district
        assert dept("SJ0504", weidong) == "TRAFFIC_POLICE"  # longer category prefix wins
        assert dept("SJ0501", None) == "ENFORCEMENT"  # outside the grid: default
        assert dept("NOPE", xinhua) is None
        s.add(RoutingRule(category_prefix="SJ0504", area_prefix="410403001",
                          department_code="WEIDONG_CGJ"))  # fmt: skip
        s.flush()
        assert dept("SJ0504", weidong) == "WEIDONG_CGJ"  # same category, longer area
        assert dept("SJ0504", xinhua) == "TRAFFIC_POLICE"
        assert city.grid_inspector(s, INSPECTOR_CELL) is not None
        assert city.grid_inspector(s, "999999999999999") is None


def test_demo_loader_is_idempotent(city_app: Any, runner: Any) -> None:
    before = _snapshot(city_app)
    load_city(city_app)
    assert _snapshot(city_app) == before
    with database(city_app).session() as s:
        again = {
            **city_import.import_catalogue(s, default_document()),
            **city_import.import_city(s, demo.demo_city_document()),
            **city_import.import_departments(s, demo.load_json("departments.json")),
            **city_import.import_routing_rules(s, demo.load_json("routing_rules.json")),
        }
    assert all(c.created == c.updated == c.removed == 0 for c in again.values())
    result = runner.invoke(args=["cgt", "load-demo-city"])
    assert result.exit_code == 0, result.output
    assert _snapshot(city_app) == before


def test_demo_grid_tiles_without_overlap(city_app: Any) -> None:
    cells = demo.demo_city_document()["grid"]
    assert len({c["code"][:6] for c in cells}) == 3
    with database(city_app).session() as s:
        for c in cells:
            min_lat, min_lon, max_lat, max_lon = c["bbox"]
            assert 33.73 <= min_lat < max_lat <= 33.78 and 113.15 <= min_lon < max_lon <= 113.33
            found = city.locate(s, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
            assert found is not None and found.code == c["code"]
            assert found.inspector_id is not None
    boxes = [c["bbox"] for c in cells]
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            overlap = min(p[2], q[2]) - max(p[0], q[0]), min(p[3], q[3]) - max(p[1], q[1])
            assert not (overlap[0] > 1e-9 and overlap[1] > 1e-9)


def test_demo_users_sign_in(city_app: Any, client: Any) -> None:
    for username in (ADMIN, DISPATCHER, INSPECTOR, HANDLER):
        me = client.get("/api/auth/me", headers=login(client, username, DEMO_PASSWORD)).json
        assert me["username"] == username
    assert client.get("/api/auth/me", headers=login(client, HANDLER)).json["department_id"]
    me = client.get("/api/auth/me", headers=login_phone(client, city_app, MERCHANT_PHONE)).json
    assert me["role"] == "merchant"
    assert "SYNTHETIC" in demo.demo_logins() and DEMO_PASSWORD in demo.demo_logins()


ADMIN_PUTS = ["/api/admin/catalogue", "/api/admin/departments", "/api/admin/city",
              "/api/admin/routing-rules"]  # fmt: skip


@pytest.mark.parametrize("url", ADMIN_PUTS)
def test_admin_imports_refuse_others(city_app: Any, client: Any, url: str) -> None:
    body = {"classes": [], "departments": [], "rules": [], "areas": []}
    resp = client.put(url, json=body)
    assert resp.status_code == 401 and resp.json["code"] == "unauthorized"
    citizen = login_phone(client, city_app, CITIZEN_PHONE)
    for headers in (citizen, login(client, DISPATCHER)):
        resp = client.put(url, json=body, headers=headers)
        assert resp.status_code == 403 and resp.json["code"] == "forbidden"


def test_admin_imports_report_counts(city_app: Any, client: Any) -> None:
    admin = login(client, ADMIN)
    doc = default_document()
    doc["classes"][0]["subclasses"][0]["limits"] = {"handle": 3}
    resp = client.put("/api/admin/catalogue", json=doc, headers=admin)
    assert resp.status_code == 200
    assert resp.json["categories"]["updated"] == 1 and resp.json["categories"]["created"] == 0
    assert client.get("/api/categories/BJ0101").json["limits"]["handle"] == 3
    depts = demo.load_json("departments.json")
    depts["departments"].append({"code": "PARKING", "name": "停车管理中心"})
    resp = client.put("/api/admin/departments", json=depts, headers=admin)
    assert resp.json["departments"] == {"created": 1, "updated": 0, "unchanged": 14, "removed": 0}
    rules = {"rules": [{"category_prefix": "BJ0211", "area_prefix": "", "department": "PARKING"}]}
    resp = client.put("/api/admin/routing-rules", json=rules, headers=admin)
    assert resp.json["rules"]["created"] == 1 and resp.json["rules"]["removed"] == 8
    city_doc = {
        "areas": [{"code": "410402001003", "name": "新社区"}],
        "grid": [
            {"code": "410402001003001", "name": "新网格", "bbox": [34.0, 113.0, 34.01, 113.01]}
        ],
    }
    resp = client.put("/api/admin/city", json=city_doc, headers=admin)
    assert resp.json["areas"]["created"] == 1 and resp.json["grid"]["created"] == 1
    found = client.get("/api/grid/locate?lat=34.005&lon=113.005").json
    assert found["grid_code"] == "410402001003001" and found["street_name"] == "光明路街道"


def _bad_catalogue() -> dict[str, Any]:
    doc = copy.deepcopy(default_document())
    doc["classes"][0]["subclasses"][0]["department"] = "NO_SUCH_UNIT"
    return doc


BAD_IMPORTS = [
    ("/api/admin/catalogue", _bad_catalogue(), "unknown_department"),
    ("/api/admin/catalogue", {"classes": "all"}, "validation_failed"),
    ("/api/admin/catalogue", [1, 2], "validation_failed"),
    ("/api/admin/departments", {"departments": [{"code": "A B", "name": ""}]}, "validation_failed"),
    (
        "/api/admin/departments",
        {"departments": [{"code": "X", "name": "x", "active": "no"}]},
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/routing-rules",
        {"rules": [{"category_prefix": "SJ05", "area_prefix": "4104", "department": "NOPE"}]},
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/routing-rules",
        {"rules": [{"category_prefix": "ZZ", "department": "GAS"}]},
        "validation_failed",
    ),  # fmt: skip
    ("/api/admin/city", {"areas": [{"code": "4104020019", "name": "x"}]}, "validation_failed"),
    (
        "/api/admin/city",
        {"grid": [{"code": "410402001001099", "name": "x", "bbox": [34, 113, 33, 114]}]},
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/city",
        {"grid": [{"code": "410499001001001", "name": "x", "bbox": [33, 113, 34, 114]}]},
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/city",
        {
            "areas": [{"code": "410402009", "name": "新街道"}],
            "grid": [
                {
                    "code": "410402001001001",
                    "name": "x",
                    "bbox": [33, 113, 34, 114],
                    "inspector": "dispatcher1",
                }
            ],
        },
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/city",
        {
            "grid": [
                {
                    "code": "410402001001099",
                    "name": "x",
                    "polygon": [[33, 113], [33, "a"], [34, 114]],
                }
            ]
        },
        "validation_failed",
    ),  # fmt: skip
    # Found by tests/fuzz: values of the wrong JSON type were 500s (unhashable, or a row
    # message on top of its field messages) or were stored as Python reprs ("['a']").
    (
        "/api/admin/routing-rules",
        {"rules": [{"category_prefix": ["SJ"], "area_prefix": {}, "department": ["GAS"]}]},
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/routing-rules",
        {
            "rules": [
                {"category_prefix": "SJ05", "department": "GAS"},
                {"category_prefix": "SJ05", "department": "NOPE"},
            ]
        },
        "validation_failed",
    ),  # fmt: skip
    ("/api/admin/city", {"areas": [{"code": ["410402009"], "name": "x"}]}, "validation_failed"),
    (
        "/api/admin/city",
        {
            "grid": [
                {
                    "code": "410402001001099",
                    "name": "x",
                    "bbox": [33, 113, 34, 114],
                    "inspector": ["inspector1"],
                }
            ]
        },
        "validation_failed",
    ),  # fmt: skip
    (
        "/api/admin/departments",
        {"departments": [{"code": "X", "name": "x", "name_en": ["X"]}]},
        "validation_failed",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("url", "body", "code"), BAD_IMPORTS)
def test_bad_imports_write_nothing(
    city_app: Any, client: Any, url: str, body: Any, code: str
) -> None:
    admin = login(client, ADMIN)
    before = _snapshot(city_app)
    resp = client.put(url, json=body, headers=admin)
    assert resp.status_code == 422, resp.json
    assert set(resp.json) == ERROR_KEYS and resp.json["code"] == code and resp.json["errors"]
    assert _snapshot(city_app) == before
    with database(city_app).session() as s:
        assert s.get(Area, "410402009") is None
        assert s.get(GridCell, INSPECTOR_CELL).name == "光明路一社区第1网格"  # type: ignore[union-attr]


def test_unknown_department_error_names_the_category(city_app: Any, client: Any) -> None:
    resp = client.put("/api/admin/catalogue", json=_bad_catalogue(), headers=login(client, ADMIN))
    assert resp.json["errors"]["categories"]["BJ0101"]["department"]
    assert "NO_SUCH_UNIT" in resp.json["message"] and "NO_SUCH_UNIT" in resp.json["message_zh"]


def test_admin_creates_users(city_app: Any, client: Any) -> None:
    admin = login(client, ADMIN)
    body = {"role": "handler", "username": "handler2_gas", "password": "secret-pass-1",
            "display_name": "燃气处置员二", "department": "GAS"}  # fmt: skip
    resp = client.post("/api/admin/users", json=body, headers=admin)
    assert resp.status_code == 201 and resp.json["department"] == "GAS"
    assert "password" not in resp.json
    me = client.get("/api/auth/me", headers=login(client, "handler2_gas", "secret-pass-1")).json
    assert me["role"] == "handler" and me["department_id"]
    resp = client.post("/api/admin/users", json=body, headers=admin)
    assert resp.status_code == 422 and "username" in resp.json["errors"]
    merchant = {"role": "merchant", "phone": "13912345678", "display_name": "老王面馆"}
    resp = client.post("/api/admin/users", json=merchant, headers=admin)
    assert resp.status_code == 201 and resp.json["phone"] == "13912345678"
    me = client.get("/api/auth/me", headers=login_phone(client, city_app, "13912345678")).json
    assert me["role"] == "merchant"


@pytest.mark.parametrize(
    "body",
    [
        {"role": "handler", "username": "h9", "password": "long-enough", "display_name": "x"},
        {"role": "inspector", "username": "i9", "password": "short", "display_name": "x"},
        {"role": "dispatcher", "password": "long-enough", "display_name": "x"},
        {
            "role": "handler",
            "username": "h9",
            "password": "long-enough",
            "display_name": "x",
            "department": "NOPE",
        },  # fmt: skip
        {"role": "citizen", "phone": "12345", "display_name": "x"},
        {"role": "king", "username": "k9", "password": "long-enough", "display_name": "x"},
        {"role": "admin", "username": 5, "password": "long-enough", "display_name": "x"},
    ],
)
def test_bad_users_are_refused(city_app: Any, client: Any, body: dict[str, Any]) -> None:
    admin = login(client, ADMIN)
    before = _count(city_app, User)
    resp = client.post("/api/admin/users", json=body, headers=admin)
    assert resp.status_code == 422 and set(resp.json) == ERROR_KEYS
    assert _count(city_app, User) == before
    resp = client.post("/api/admin/users", json=body, headers=login(client, DISPATCHER))
    assert resp.status_code == 403


def test_cli_imports_and_user(app: Any, runner: Any, tmp_path: Path) -> None:
    data = Path(demo.DATA_DIR)
    for args in (["import-departments", str(data / "departments.json")], ["import-catalogue"]):
        result = runner.invoke(args=["cgt", *args])
        assert result.exit_code == 0, result.output
    assert "categories: created 9" in result.output
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"rules": [{"category_prefix": "SJ05", "department": "NOPE"}]}))
    result = runner.invoke(args=["cgt", "import-routing-rules", str(bad)])
    assert result.exit_code != 0 and "department" in result.output
    city_file = tmp_path / "city.json"
    city_file.write_text(json.dumps(demo.demo_city_document(), ensure_ascii=False))
    result = runner.invoke(args=["cgt", "import-city", str(city_file)])
    assert result.exit_code != 0 and "inspector" in result.output  # no inspectors yet
    args = ["cgt", "create-user", "--role", "admin", "--username", "root2",
            "--password", "long-enough-1", "--display-name", "管理员"]  # fmt: skip
    result = runner.invoke(args=args)
    assert result.exit_code == 0 and "created admin" in result.output
    result = runner.invoke(args=["cgt", "demo-logins"])
    assert "dispatcher1" in result.output and "13800000001" in result.output
