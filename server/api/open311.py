"""Open311 GeoReport v2 at ``/open311/v2/``: a plain Flask blueprint speaking the spec's
formats (``.json`` / ``.xml``) and error lists; documented in ``docs/open311.md``."""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from shared_models.errors import CgtError, render

from ..db import session
from ..services import cases
from ..services import open311 as svc
from .context import case_ctx

log = logging.getLogger(__name__)
bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_CONTACT = "城管通 command centre 数字城管指挥中心"
DEFAULT_KEY_SERVICE = "Ask the command centre for an API key. 请向数字城管指挥中心申请 API key。"


# ----------------------------------------------------------------------------- formats

XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
# Characters XML 1.0 cannot carry at all; a pasted control character must not break clients.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _fill(el: ET.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(el, XML_ITEMS[el.tag]), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(el, key), item)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = _NOT_XML.sub("", str(value))


def to_xml(root: str, body: Any) -> bytes:
    """The spec's XML for a JSON-shaped ``body``: lists become repeated singular elements."""
    el = ET.Element(root)
    _fill(el, body)
    text = ET.tostring(el, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}'.encode()


def reply(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    data = to_xml(root, body) if fmt == "xml" else json.dumps(body, ensure_ascii=False).encode()
    return Response(data, status, content_type=CONTENT_TYPES[fmt])


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in CONTENT_TYPES else ("xml" if request.path.endswith(".xml") else "json")


def error_reply(status: int, description: str) -> Response:
    return reply(_fmt(), "errors", [{"code": status, "description": description}], status)


@bp.errorhandler(CgtError)
def _cgt_error(err: CgtError) -> Response:
    item = svc.error_item(err)
    return error_reply(item["code"], item["description"])


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException) -> Response:
    """Also the app's answer under the prefix when no route took the request (TRACE, QUERY…)."""
    status = err.code or 500
    if status == 405 and not _allowed():
        status = 404  # only the catch-all knows the path: there is no such resource
    names = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    en, zh = render(names.get(status, "bad_request" if status < 500 else "internal_error"), {})
    resp = error_reply(status, f"{en} {zh}")
    if status == 405:
        resp.headers["Allow"] = _allow_header()
    return resp


@bp.errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    log.exception("open311: unhandled error on %s %s", request.method, request.path)
    en, zh = render("internal_error", {})
    return error_reply(500, f"{en} {zh}")


@bp.before_request
def _check_jurisdiction() -> None:
    given = request.values.get("jurisdiction_id")
    if given and given != current_app.config["OPEN311_JURISDICTION"]:
        raise svc.Open311Error(404, "unknown_jurisdiction", id=given[:64])


def presenter() -> svc.Presenter:
    return svc.Presenter(ZoneInfo(current_app.config["TIMEZONE"]))


# ----------------------------------------------------------------------------- resources


@bp.get("/")
@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str = "json") -> Response:
    """Service discovery: where the endpoint is, which formats, whom to ask for a key."""
    cfg = current_app.config
    body = svc.discovery(
        url_for("open311.discovery", _external=True),
        cfg.get("OPEN311_CONTACT", DEFAULT_CONTACT),
        cfg.get("OPEN311_KEY_SERVICE", DEFAULT_KEY_SERVICE),
    )
    return reply(fmt, "discovery", body)


@bp.get(f"/services.{FMT}")
def service_list(fmt: str) -> Response:
    return reply(fmt, "services", svc.services(session()))


@bp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> Response:
    return reply(fmt, "service_definition", svc.service_definition(session(), code))


@bp.post(f"/requests.{FMT}")
def create_request(fmt: str) -> Response:
    """File a case for a client app; the contact details go to a staff-only record."""
    s, ctx = session(), case_ctx()
    form = request.values.to_dict(flat=False)
    key = svc.authenticate(s, (form.get("api_key") or [""])[0])
    data, contact = svc.parse_report(form)
    out = cases.report(s, svc.actor_for(key), data, ctx)
    s.add(svc.contact_record(out.case.id, key, contact, ctx.now))
    s.commit()
    similar = [c for c, _ in out.candidates]
    return reply(fmt, "service_requests", [svc.receipt(out.case, contact["account_id"], similar)])


@bp.get(f"/requests.{FMT}")
def request_list(fmt: str) -> Response:
    query = svc.parse_query(request.args, case_ctx().now)
    return reply(fmt, "service_requests", svc.find_requests(session(), query, presenter()))


@bp.get(f"/requests/<request_id>.{FMT}")
def request_detail(request_id: str, fmt: str) -> Response:
    query = svc.RequestQuery(ids=(request_id[:36],))
    found = svc.find_requests(session(), query, presenter())
    if not found:
        raise svc.Open311Error(404, "unknown_request", id=request_id[:40])
    return reply(fmt, "service_requests", found)


@bp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> Response:
    return reply(fmt, "service_requests", svc.token_items(session(), token))


def _allowed() -> set[str]:
    """The methods a real resource at this path answers (the catch-all below answers none)."""
    adapter = current_app.url_map.bind("localhost")
    return {
        m
        for m in ("GET", "POST")
        if adapter.test(request.path, m) and adapter.match(request.path, m)[0] != "open311.unknown"
    }


def _allow_header() -> str:
    return ", ".join(sorted(_allowed()))


@bp.after_request
def _honest_allow(resp: Response) -> Response:
    """Flask's automatic OPTIONS would list the catch-all's methods too, which all answer 405."""
    if request.method == "OPTIONS":
        resp.headers["Allow"] = _allow_header()
    return resp


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Anything else under the prefix answers in the spec's error format, not the app's."""
    raise MethodNotAllowed() if _allowed() else NotFound()
