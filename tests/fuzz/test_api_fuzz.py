"""Every operation of /api/openapi.json under generated input, as a dispatcher, citizen, admin.

Checks on every answer: no 5xx, the status, content type and body conform to the document,
and every 4xx carries the one error shape ``{code, message, message_zh, errors}``. Generated
values are mixed with real ones (case ids, actions, photos, months …) so requests reach the
use cases, and a citizen must never get a 2xx about a case they do not follow.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from sqlalchemy import select

from server.db import database
from server.models import CaseReporter, User
from tests.factories import CITIZEN_PHONE, DISPATCHER

from .conftest import KNOWN, ClosingClient, fuzz_config, make_app

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


def _with_known(values: Any, extra: dict[str, st.SearchStrategy[Any]]) -> Any:
    """The generated ``values``, or the same with real values for the names we know."""
    if not isinstance(values, dict):
        return st.just(values)
    real = {k: st.sampled_from(KNOWN[k]) for k in values if KNOWN.get(k)}
    real |= {k: strategy for k, strategy in extra.items() if k in values}
    if not real:
        return st.just(values)
    return st.one_of(st.just(values), st.fixed_dictionaries(real).map(lambda r: {**values, **r}))


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    return _with_known(path_parameters, {})


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    # demo cases are at version 1–12; photos lists of what is really stored
    extra = {"version": st.integers(1, 12)}
    if KNOWN.get("sha256"):
        extra["photos"] = st.lists(st.sampled_from(KNOWN["sha256"]), max_size=3)
    return _with_known(body, extra)


def may_be_made_valid(case: Any) -> bool:
    """A negative case whose path or body the hooks above may have filled with real values.

    The hooks run before schemathesis says whether a case is meant to be invalid, so a bad
    ``year`` or ``version`` can be replaced by a real one and the request become valid; such a
    case is not held to "invalid data is refused" (every other check still applies).
    """
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.NEGATIVE:
        return False
    body = case.body if isinstance(case.body, dict) else {}
    pairs = [*(case.path_parameters or {}).items(), *body.items()]
    known = any(k in KNOWN and _hashable(v) and v in KNOWN[k] for k, v in pairs)
    return known or "version" in body or "photos" in body


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def followed_by(app: Flask, phone: str) -> set[str]:
    with database(app).session() as s:
        who = select(User.id).where(User.phone == phone).scalar_subquery()
        return set(s.scalars(select(CaseReporter.case_id).where(CaseReporter.user_id == who)))


def only_own_cases(app: Flask, phone: str, case: Any, response: Any) -> None:
    """A citizen's 2xx names only cases they reported or follow through a merge."""
    seen = {case.path_parameters.get("case_id")} - {None}
    if case.operation.path == "/api/my/cases":
        seen |= {item["id"] for item in response.json()["items"]}
    assert seen <= followed_by(app, phone), (case.operation.label, seen)


@pytest.fixture(scope="module", params=[DISPATCHER, CITIZEN_PHONE, "admin"])
def login(request: pytest.FixtureRequest) -> str:
    return request.param


@schema.parametrize()
def test_api(
    case: Any, login: str, fuzz_app: Flask, sign_in: Callable[[str], dict[str, str]]
) -> None:
    response = case.call_and_validate(
        headers=sign_in(login),
        app=fuzz_app,
        session=ClosingClient(fuzz_app),
        additional_checks=[structured_error],
        excluded_checks=[negative_data_rejection] if may_be_made_valid(case) else [],
    )
    # (the coverage phase also probes other methods, e.g. OPTIONS: an empty 200)
    probe = case.method.upper() != case.operation.method.upper()
    if login == CITIZEN_PHONE and response.status_code < 300 and not probe:
        only_own_cases(fuzz_app, login, case, response)
