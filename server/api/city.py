"""The city's map of responsibility over HTTP: catalogue, departments, areas, grid lookup,
and the admin imports (same JSON shapes as the data files, see docs/city-data.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import INCLUDE, Schema, fields, validate
from sqlalchemy import Select, select

from shared_models.enums import CategoryKind, CoordSystem, Role
from shared_models.errors import InvalidInput, NotFound
from shared_models.geo import to_wgs84

from .. import clock
from ..db import session
from ..models import Area, Category, Department
from ..services import city as svc
from ..services import city_import
from ..services.auth import hasher
from .blueprint import Blueprint
from .pagination import PageArgs, decode_cursor, encode_cursor, page_schema
from .security import requires

blp = Blueprint("city", __name__, url_prefix="/api", description="City map 城市网格与分类")


class CatalogueEntry(Schema):
    code = fields.String()
    kind = fields.String()
    class_code = fields.String()
    class_name = fields.String()
    class_name_en = fields.String()
    name = fields.String()
    name_en = fields.String()
    keywords = fields.List(fields.String())
    department = fields.String(allow_none=True)
    limits = fields.Dict(keys=fields.String(), values=fields.Float())
    time_unit = fields.String()
    needs_verify = fields.Boolean()


class CatalogueQuery(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf([k.value for k in CategoryKind]))


class DepartmentEntry(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class AreaEntry(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    level = fields.String()
    parent = fields.String(attribute="parent_code", allow_none=True)


class AreaQuery(PageArgs):
    parent = fields.String(validate=validate.Regexp(r"^\d{6,12}$"))
    level = fields.String(validate=validate.OneOf(["district", "street", "community"]))


class LocateQuery(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    coord_system = fields.String(
        load_default=CoordSystem.WGS84.value,
        validate=validate.OneOf([c.value for c in CoordSystem]),
    )


class GridPlace(Schema):
    lat = fields.Float(metadata={"description": "WGS-84"})
    lon = fields.Float(metadata={"description": "WGS-84"})
    grid_code = fields.String()
    grid_name = fields.String()
    community_code = fields.String()
    community_name = fields.String()
    street_code = fields.String()
    street_name = fields.String()
    district_code = fields.String()
    district_name = fields.String()


class _Document(Schema):
    class Meta:
        unknown = INCLUDE  # "format", "note" and other metadata of the data files


class CatalogueBody(_Document):
    classes = fields.List(fields.Dict(), required=True)


class DepartmentsBody(_Document):
    departments = fields.List(fields.Dict(), required=True)


class CityBody(_Document):
    areas = fields.List(fields.Dict())
    grid = fields.List(fields.Dict())


class RulesBody(_Document):
    rules = fields.List(fields.Dict(), required=True)


class ImportCounts(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    removed = fields.Integer()


class ImportResult(Schema):
    categories = fields.Nested(ImportCounts)
    departments = fields.Nested(ImportCounts)
    areas = fields.Nested(ImportCounts)
    grid = fields.Nested(ImportCounts)
    rules = fields.Nested(ImportCounts)


class AccountCreate(Schema):
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    username = fields.String(validate=validate.Length(max=64))
    password = fields.String(load_only=True, validate=validate.Length(max=256))
    phone = fields.String(validate=validate.Length(max=20))
    department = fields.String(validate=validate.Length(max=32))


class AccountOut(Schema):
    id = fields.Integer()
    role = fields.String()
    username = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    display_name = fields.String()
    department = fields.String(allow_none=True)


def _keyset(stmt: Select[Any], column: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One page of ``stmt`` ordered by a unique text ``column`` (the row's code)."""
    if args.get("after"):
        after = decode_cursor(args["after"])
        if len(after) != 1 or not isinstance(after[0], str):
            raise InvalidInput(errors={"after": ["Not a valid page cursor. 分页游标无效。"]})
        stmt = stmt.where(column > after[0])
    limit = args["limit"]
    rows = list(session().scalars(stmt.order_by(column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": encode_cursor([rows[-1].code]) if more else None}


def _ranked_page(ranked: list[tuple[int, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """One page of search results ordered by (rank, code)."""
    if args.get("after"):
        after = decode_cursor(args["after"])
        if len(after) != 2 or not isinstance(after[0], int) or not isinstance(after[1], str):
            raise InvalidInput(errors={"after": ["Not a valid page cursor. 分页游标无效。"]})
        ranked = [(r, c) for r, c in ranked if (r, c.code) > (after[0], after[1])]
    page = ranked[: args["limit"]]
    more = len(ranked) > args["limit"]
    cursor = encode_cursor([page[-1][0], page[-1][1].code]) if more else None
    return {"items": [c.to_dict() for _, c in page], "next": cursor}


@blp.route("/categories")
class Categories(MethodView):
    @blp.arguments(CatalogueQuery, location="query")
    @blp.response(200, page_schema(CatalogueEntry, "CataloguePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Category catalogue, searchable by words citizens use 问题分类目录"""
        s = session()
        if args.get("q"):
            return _ranked_page(svc.search_categories(s, args["q"], args.get("kind")), args)
        stmt = select(Category).where(Category.active.is_(True))
        if args.get("kind"):
            stmt = stmt.where(Category.kind == args["kind"])
        page = _keyset(stmt, Category.code, args)
        page["items"] = [svc.category_of(row).to_dict() for row in page["items"]]
        return page


@blp.route("/categories/<code>")
class CategoryItem(MethodView):
    @blp.response(200, CatalogueEntry)
    def get(self, code: str) -> dict[str, Any]:
        """One category with its department and time limits 分类详情"""
        row = session().get(Category, code)
        if row is None or not row.active:
            raise NotFound("unknown_category", category=code)
        return svc.category_of(row).to_dict()


@blp.route("/departments")
class Departments(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(DepartmentEntry, "DepartmentPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Responsible units 责任单位"""
        stmt = select(Department).where(Department.active.is_(True))
        return _keyset(stmt, Department.code, args)


@blp.route("/areas")
class Areas(MethodView):
    @blp.arguments(AreaQuery, location="query")
    @blp.response(200, page_schema(AreaEntry, "AreaPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Districts, streets and communities 区、街道、社区"""
        stmt = select(Area)
        if args.get("parent"):
            stmt = stmt.where(Area.parent_code == args["parent"])
        if args.get("level"):
            stmt = stmt.where(Area.level == args["level"])
        return _keyset(stmt, Area.code, args)


@blp.route("/grid/locate")
class GridLocate(MethodView):
    @blp.arguments(LocateQuery, location="query")
    @blp.response(200, GridPlace)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The grid cell, community, street and district of a point 定位单元网格"""
        lat, lon = to_wgs84(args["lat"], args["lon"], args["coord_system"])
        s = session()
        cell = svc.locate(s, lat, lon)
        if cell is None:
            raise NotFound("outside_city")
        return {"lat": lat, "lon": lon, **asdict(svc.place_of(s, cell))}


def _import(fn: Any, body: dict[str, Any]) -> dict[str, Any]:
    s = session()
    result = fn(s, body)
    s.commit()
    return city_import.as_dict(result)


@blp.route("/admin/catalogue")
class AdminCatalogue(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(CatalogueBody)
    @blp.response(200, ImportResult)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Import the category catalogue (categories.json shape) 导入问题分类"""
        return _import(city_import.import_catalogue, body)


@blp.route("/admin/departments")
class AdminDepartments(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(DepartmentsBody)
    @blp.response(200, ImportResult)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Import the responsible units (departments.json shape) 导入责任单位"""
        return _import(city_import.import_departments, body)


@blp.route("/admin/city")
class AdminCity(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(CityBody)
    @blp.response(200, ImportResult)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Import areas and grid cells 导入区域与单元网格"""
        return _import(city_import.import_city, body)


@blp.route("/admin/routing-rules")
class AdminRoutingRules(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(RulesBody)
    @blp.response(200, ImportResult)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace the routing rules 导入派遣规则"""
        return _import(city_import.import_routing_rules, body)


@blp.route("/admin/users")
class AdminUsers(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(AccountCreate)
    @blp.response(201, AccountOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an account: staff with a password, citizens and merchants by phone 创建账号"""
        s = session()
        user = svc.create_user(s, hasher(current_app.config), clock.now(), **body)
        s.commit()
        return {
            "id": user.id,
            "role": user.role,
            "username": user.username,
            "phone": user.phone,
            "display_name": user.display_name,
            "department": body.get("department"),
        }
