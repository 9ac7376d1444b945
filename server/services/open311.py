"""Open311 GeoReport v2 spoken over the case queue: services, requests, keys, formats.

Spec: http://wiki.open311.org/GeoReport_v2. Categories are the services (service_code = our
category code); cases are the service requests. Requests are created synchronously, so a
"token" is simply the service_request_id. The submitter's contact details are stored in
:class:`~server.models.open311.Open311Contact` for staff and never appear in GET output.
No Flask here: the web edge passes in the session, the clock, the time zone and URL builders.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import uuid
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_models.enums import FINAL_STATES, CaseSource, CaseState, Role, Step
from shared_models.errors import CgtError
from shared_models.schemas import CaseReportSchema

from ..domain.privacy import mask_contacts
from ..models import ApiKey, Case, Category, Department, Open311Contact
from . import city_cache
from .actor import Actor
from .city import KEYWORD_SEPARATOR

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-21T00:00:00+08:00"  # when this endpoint's behaviour last changed
FORMATS = ("text/xml", "application/json")
MAX_RESULTS = 1000
WINDOW = timedelta(days=90)
CLOSED = frozenset(s.value for s in FINAL_STATES)
KEY_PREFIX = "cgt311_"

# code -> (English, Chinese): refusals worded for Open311 client developers.
MESSAGES: dict[str, tuple[str, str]] = {
    "api_key": ("api_key is missing or not valid.", "api_key 缺失或无效。"),
    "service_code": ("service_code is required.", "缺少 service_code。"),
    "unknown_service": ("Unknown service_code '{service}'.", "未知的服务类型“{service}”。"),
    "unknown_request": ("Unknown service_request_id '{id}'.", "未知的服务请求“{id}”。"),
    "unknown_jurisdiction": ("Unknown jurisdiction_id '{id}'.", "未知的辖区“{id}”。"),
    "address_only": (
        "Locating by address_string or address_id is not supported (no geocoder); "
        "send lat and long (WGS-84).",
        "暂不支持仅凭地址定位（无地理编码服务），请提供 lat 和 long（WGS-84 坐标）。",
    ),
    "location": ("lat and long are required.", "必须提供 lat 和 long。"),
    "coordinate": (
        "lat must be a number in [-90, 90] and long in [-180, 180].",
        "lat 须为 -90 至 90 之间的数字，long 须为 -180 至 180 之间的数字。",
    ),
    "bad_date": (
        "{name} must be an ISO 8601 date-time with a time zone.",
        "{name} 须为带时区的 ISO 8601 时间。",
    ),
    "date_range": (
        "start_date must not be after end_date, nor span more than 90 days.",
        "start_date 不得晚于 end_date，且时间跨度不得超过90天。",
    ),
    "bad_status": ("status must be open or closed.", "status 须为 open 或 closed。"),
    "bad_field": ("Some fields are not valid: {detail}.", "部分字段填写有误：{detail}。"),
}


class Open311Error(CgtError):
    """A refusal in the spec's terms: 400, 403 or 404 with an English and Chinese text."""

    def __init__(self, status: int, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.status = status
        en, zh = MESSAGES[message]
        self.message, self.message_zh = en.format(**params), zh.format(**params)


def error_item(err: CgtError) -> dict[str, Any]:
    """One ``{code, description}`` of the spec's error list for any 城管通 error."""
    status = {401: 403, 409: 400, 422: 400}.get(err.status, err.status)
    details = "; ".join(f"{k}: {' '.join(map(str, _flat(v)))}" for k, v in err.errors.items())
    text = f"{err.message} {err.message_zh}"
    return {"code": status, "description": f"{text} ({details})" if details else text}


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    return [x for v in value for x in _flat(v)] if isinstance(value, list) else [value]


# ----------------------------------------------------------------------------- API keys


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(s: Session, name: str, now: datetime) -> str:
    """Store a new key for client ``name`` and return it; only its digest is kept."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiKey(name=name, key_digest=digest(key), active=True, created_at=now))
    s.flush()
    return key


def authenticate(s: Session, key: str | None) -> ApiKey:
    row = s.scalar(select(ApiKey).where(ApiKey.key_digest == digest(key))) if key else None
    if row is None or not row.active:
        raise Open311Error(403, "api_key")
    return row


def actor_for(key: ApiKey) -> Actor:
    """The command centre's intake desk acting for a client app (source ``open311``)."""
    return Actor(id=None, role=Role.DISPATCHER, display_name=f"open311:{key.name}")


# ----------------------------------------------------------------------------- services


def discovery(endpoint_url: str, contact: str, key_service: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": endpoint_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS),
            }
        ],
    }


def services(s: Session) -> list[dict[str, Any]]:
    """The active category catalogue as Open311 services, in code order."""
    rows = s.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"{c.class_name}/{c.name} — {c.class_name_en}/{c.name_en}",
            "metadata": False,  # the catalogue defines no extra attributes (yet)
            "type": "realtime",
            "keywords": ", ".join(k for k in c.keywords.split(KEYWORD_SEPARATOR) if k),
            "group": c.class_name,
        }
        for c in rows
    ]


def service_definition(s: Session, code: str) -> dict[str, Any]:
    cat = s.get(Category, code)
    if cat is None or not cat.active:
        raise Open311Error(404, "unknown_service", service=code[:32])
    return {"service_code": cat.code, "attributes": []}


# ----------------------------------------------------------------------------- POST requests


class _ContactSchema(Schema):
    email = fields.String(load_default="", validate=validate.Length(max=254))
    phone = fields.String(load_default="", validate=validate.Length(max=32))
    first_name = fields.String(load_default="", validate=validate.Length(max=64))
    last_name = fields.String(load_default="", validate=validate.Length(max=64))
    device_id = fields.String(load_default="", validate=validate.Length(max=128))
    account_id = fields.String(load_default="", validate=validate.Length(max=128))
    media_url = fields.String(
        load_default="",
        validate=[validate.Length(max=1024), validate.Regexp(r"^(https?://\S+)?$")],
    )


ATTRIBUTE_RE = re.compile(r"^attribute\[([^\]]{1,64})\](\[\])?$")


def _number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, "coordinate") from None
    if not math.isfinite(value):
        raise Open311Error(400, "coordinate")
    return value


def _location(form: Mapping[str, str]) -> tuple[float, float]:
    lat, lon = (form.get(k, "").strip() for k in ("lat", "long"))
    if not lat and not lon:
        address_given = form.get("address_string", "").strip() or form.get("address_id", "")
        raise Open311Error(400, "address_only" if address_given else "location")
    if not lat or not lon:
        raise Open311Error(400, "location")
    lat_f, lon_f = _number(lat), _number(lon)
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise Open311Error(400, "coordinate")
    return lat_f, lon_f


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)  # type: ignore[no-any-return]
    except ValidationError as err:
        names = err.messages.keys() if isinstance(err.messages, dict) else ["_schema"]
        detail = ", ".join(sorted(str(k) for k in names))
        raise Open311Error(400, "bad_field", detail=detail) from None


def parse_report(form: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Turn a POSTed form into (report data for ``services.cases.report``, private contact)."""
    one = {k: v[0] if v else "" for k, v in form.items()}
    code = one.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code")
    lat, lon = _location(one)
    data = _load(
        CaseReportSchema(),
        {
            "id": str(uuid.uuid4()),
            "category_code": code,
            "lat": lat,
            "lon": lon,
            "coord_system": one.get("coord_system") or "wgs84",  # extension; spec is WGS-84
            "address": one.get("address_string", "").strip(),
            "description": one.get("description", ""),
            "source": CaseSource.OPEN311.value,
        },
    )
    data["id"] = str(data["id"])
    contact = _load(_ContactSchema(), {k: one[k] for k in _ContactSchema().fields if k in one})
    attributes: dict[str, Any] = {}
    for key, values in form.items():
        if m := ATTRIBUTE_RE.match(key):
            vals = [v[:500] for v in values]
            attributes[m.group(1)] = vals if m.group(2) else (vals[0] if vals else "")
    contact["attributes"] = dict(list(attributes.items())[:50])
    return data, contact


def contact_record(case_id: str, key: ApiKey, contact: dict[str, Any], now: datetime) -> Any:
    return Open311Contact(case_id=case_id, api_key_id=key.id, created_at=now, **contact)


def receipt(case: Case, account_id: str, similar: Sequence[Case]) -> dict[str, Any]:
    notice = "Received by the command centre, to be registered and dispatched. 已受理，待立案派遣。"
    if similar:
        ids = ", ".join(c.id for c in similar)
        notice += f" Similar open requests nearby: {ids}. 附近已有类似问题：{ids}。"
    return {
        "service_request_id": case.id,
        "service_notice": notice,
        "account_id": account_id or None,
    }


# ----------------------------------------------------------------------------- GET requests


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()  # when given, every other filter is ignored (as the spec says)
    codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x.strip() for x in (raw or "").split(",") if x.strip()))


def _date(args: Mapping[str, str], name: str) -> datetime | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise Open311Error(400, "bad_date", name=name) from None
    if value.tzinfo is None:
        raise Open311Error(400, "bad_date", name=name)
    return value


def parse_query(args: Mapping[str, str], now: datetime) -> RequestQuery:
    """The spec's filters; without dates, the last 90 days; a range spans at most 90 days."""
    ids = tuple(i[:36] for i in _csv(args.get("service_request_id")))[:MAX_RESULTS]
    if ids:
        return RequestQuery(ids=ids)
    statuses = frozenset(_csv(args.get("status")))
    if not statuses <= {"open", "closed"}:
        raise Open311Error(400, "bad_status")
    codes = _csv(args.get("service_code"))
    start, end = _date(args, "start_date"), _date(args, "end_date")
    if end is None:
        if start is None:
            return RequestQuery(codes=codes, statuses=statuses, start=now - WINDOW)
        end = start + WINDOW
    elif start is None:
        start = end - WINDOW
    if start > end or end - start > WINDOW:
        raise Open311Error(400, "date_range")
    return RequestQuery(codes=codes, statuses=statuses, start=start, end=end)


def _cases_stmt(q: RequestQuery) -> Any:
    stmt = (
        select(Case, Category.name, Department.name)
        .join(Category, Category.code == Case.category_code)
        .outerjoin(Department, Department.id == Case.department_id)
    )
    if q.ids:
        return stmt.where(Case.id.in_(q.ids))
    if q.codes:
        stmt = stmt.where(Case.category_code.in_(q.codes))
    if q.statuses == {"open"}:
        stmt = stmt.where(Case.state.not_in(CLOSED))
    elif q.statuses == {"closed"}:
        stmt = stmt.where(Case.state.in_(CLOSED))
    if q.start is not None:
        stmt = stmt.where(Case.created_at >= q.start)
    if q.end is not None:
        stmt = stmt.where(Case.created_at <= q.end)
    return stmt


@dataclass(frozen=True)
class Presenter:
    """How request fields are written: in the city's time zone."""

    tz: ZoneInfo

    def iso(self, value: datetime | None) -> str | None:
        return value.astimezone(self.tz).isoformat(timespec="seconds") if value else None


def find_requests(s: Session, q: RequestQuery, p: Presenter) -> list[dict[str, Any]]:
    """Matching cases as public service requests, newest first, at most 1000."""
    stmt = _cases_stmt(q).order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    rows = s.execute(stmt).all()
    grid = city_cache.snapshot(s).grid_codes
    return [request_item(c, name, dept, p, grid) for c, name, dept in rows]


STEP_NOTICE = {
    Step.VERIFY.value: ("An inspector is verifying it on site.", "监督员正在现场核实。"),
    Step.REGISTER.value: ("Waiting for registration by the command centre.", "等待指挥中心立案。"),
    Step.DISPATCH.value: ("Waiting for dispatch to a department.", "等待派遣至责任单位。"),
    Step.HANDLE.value: ("The responsible department is handling it.", "责任单位正在处置。"),
    Step.CHECK.value: ("An inspector is checking the result.", "监督员正在核查处置结果。"),
}
STATE_NOTE = {
    CaseState.CLOSED.value: ("Handled and checked; closed.", "已处置并核查，已结案。"),
    CaseState.REJECTED.value: ("Not registered.", "不予立案。"),
}


def _status_notes(case: Case, grid: Container[str]) -> str | None:
    if case.state == CaseState.MERGED.value:
        target = case.merged_into_id
        return f"Duplicate of request {target}, handled there. 与案件{target}为同一问题，合并办理。"
    if case.state == CaseState.REJECTED.value and case.reject_reason:
        reason = mask_contacts(case.reject_reason, grid)  # the desk may quote the report
        return f"Not registered: {reason} 不予立案：{reason}"
    en, zh = STATE_NOTE.get(case.state, (None, None))
    return f"{en} {zh}" if en else None


def request_item(
    case: Case, service_name: str, dept: str | None, p: Presenter, grid: Container[str]
) -> dict[str, Any]:
    """One case in the spec's field order; public fields only (no reporter, no staff), and
    the citizen's own words with phone, e-mail and ID numbers masked (``grid``: the city's
    grid cell codes, which stay)."""
    en, zh = STEP_NOTICE.get(case.step or "", (None, None))
    return {
        "service_request_id": case.id,
        "status": "closed" if case.state in CLOSED else "open",
        "status_notes": _status_notes(case, grid),
        "service_name": service_name,
        "service_code": case.category_code,
        "description": mask_contacts(case.description, grid),
        "agency_responsible": dept,
        "service_notice": f"{en} {zh}" if en else None,
        "requested_datetime": p.iso(case.created_at),
        "updated_datetime": p.iso(case.updated_at),
        "expected_datetime": p.iso(case.step_deadline),
        "address": mask_contacts(case.address, grid),
        "address_id": case.grid_code,  # the 单元网格 code is the city's address grid
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        # Photos are shown only to signed-in people with access to the case (they can show
        # faces, plates, homes); the public feed never links them.
        "media_url": None,
    }


def token_items(s: Session, token: str) -> list[dict[str, Any]]:
    """Requests are created at once, so the token is the service_request_id itself."""
    found = s.scalar(select(Case.id).where(Case.id == token[:36]))
    if found is None:
        raise Open311Error(404, "unknown_request", id=token[:40])
    return [{"service_request_id": found, "token": token}]
