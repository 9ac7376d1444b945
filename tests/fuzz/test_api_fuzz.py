"""Every operation of /api/openapi.json under generated input, as a dispatcher, citizen, admin.

Checks on every answer: no 5xx, the status, content type and body conform to the document,
and every 4xx carries the one error shape ``{code, message, message_zh, errors}``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask

from tests.factories import CITIZEN_PHONE, DISPATCHER

from .conftest import fuzz_config, make_app

ERROR_KEYS = {"code", "message", "message_zh", "errors"}


def structured_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx/5xx body is the project's error shape, messages in both languages."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert isinstance(body["code"], str) and body["code"], body
    assert body["message"] and body["message_zh"], body
    assert isinstance(body["errors"], dict | list), body
    return None


# The document types path and query values loosely (a sha256 is "a string"); the views' own
# validation is stricter and answers 422, which is what we want.
CONFIG = fuzz_config(positive_data_acceptance={"enabled": False})
# The document does not depend on data: read it from an app that never touches its database.
# Requests go to the session's `fuzz_app` (passed to every call).
schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", make_app("sqlite://", tempfile.gettempdir()), config=CONFIG
)


@pytest.fixture(scope="module", params=[DISPATCHER, CITIZEN_PHONE, "admin"])
def login(request: pytest.FixtureRequest) -> str:
    return request.param


@schema.parametrize()
def test_api(
    case: Any, login: str, fuzz_app: Flask, sign_in: Callable[[str], dict[str, str]]
) -> None:
    case.call_and_validate(
        headers=sign_in(login), app=fuzz_app, additional_checks=[structured_error]
    )
