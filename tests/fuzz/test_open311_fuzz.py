"""Open311 GeoReport v2 under generated input, both formats, against open311_spec.DOCUMENT.

Checks: no 5xx, answers as documented, and every refusal is the spec's error list whose
``code`` is the HTTP status and whose text is in English and Chinese; XML is well formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import negative_data_rejection

from .conftest import ClosingClient, fuzz_config
from .open311_spec import DOCUMENT

CJK = re.compile("[\u4e00-\u9fff]")


def _is_xml(response: Any) -> bool:
    return str(response.headers.get("content-type", [""])[0]).startswith("text/xml")


def spec_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refusal is ``[{code, description}]`` with code = status, text in both languages."""
    if response.status_code < 400:
        return None
    if _is_xml(response):
        root = ET.fromstring(response.content)
        assert root.tag == "errors", response.text
        code, text = root.findtext("error/code"), root.findtext("error/description") or ""
    else:
        body = response.json()
        assert isinstance(body, list) and body, response.text
        code, text = str(body[0]["code"]), body[0]["description"]
    assert code == str(response.status_code), response.text
    assert CJK.search(text) and re.search("[A-Za-z]{3}", text), text
    return None


def well_formed_xml(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.path_parameters.get("format") == "xml":
        assert _is_xml(response), response.headers
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        ET.fromstring(response.content)
    return None


schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=fuzz_config(positive_data_acceptance={"enabled": False})
)


@schema.parametrize()
def test_open311(case: Any, fuzz_app: Flask) -> None:
    # GeoReport v2: service_request_id overrides every other filter, bad ones included
    by_id = bool((case.query or {}).get("service_request_id"))
    case.call_and_validate(
        app=fuzz_app,
        session=ClosingClient(fuzz_app),
        additional_checks=[spec_error, well_formed_xml],
        excluded_checks=[negative_data_rejection] if by_id else [],
    )
