"""Offline reports pushed together go through the bulk path (``case_intake.report_many``):
one INSERT per table for the run, the same answers as one report at a time."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from server.db import database
from server.models import Case, CaseEvent, CaseReporter
from sync.case_mutations import REPORT
from tests.api.case_helpers import ok, upload_photo
from tests.factories import CITIZEN_PHONE, DISPATCHER, OTHER_POINT, load_city, login, login_phone

from .helpers import pull_all, push, report_args

NEAR = 0.00005  # ~5 m of latitude: well inside the duplicate radius


def _scenario(point: tuple[float, float], tag: str) -> list[dict[str, Any]]:
    """Six reports: two at one spot, an unknown category, another category on the spot,
    a third at the spot, one far away."""
    lat, lon = point
    at = {"lat": lat, "lon": lon}
    return [
        report_args(id=f"00000000-0000-4000-8000-{tag}00000001", category_code="SJ0101", **at),
        report_args(id=f"00000000-0000-4000-8000-{tag}00000002", category_code="SJ0101",
                    lat=lat + NEAR, lon=lon),
        report_args(id=f"00000000-0000-4000-8000-{tag}00000003", category_code="XX9999", **at),
        report_args(id=f"00000000-0000-4000-8000-{tag}00000004", category_code="BJ0101", **at),
        report_args(id=f"00000000-0000-4000-8000-{tag}00000005", category_code="SJ0101",
                    lat=lat - NEAR, lon=lon),
        report_args(id=f"00000000-0000-4000-8000-{tag}00000006", category_code="SJ0101",
                    lat=lat + 0.01, lon=lon),
    ]  # fmt: skip


def _answers(results: list[dict[str, Any]], tag: str) -> list[Any]:
    """The answers with the scenario's ids made comparable across two runs."""

    def plain(value: Any) -> Any:
        return value.replace(tag, "T") if isinstance(value, str) else value

    out = []
    for r in results:
        result = r.get("result") or {}
        out.append(
            (
                r["status"],
                r.get("code"),
                plain(result.get("case_id")),
                result.get("created"),
                [plain(i) for i in result.get("same_problem", [])],
                sorted(c["collection"] for c in r.get("changes", [])),
            )
        )
    return out


def _count(app: Flask, model: Any) -> int:
    with database(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_run_of_reports_answers_as_one_at_a_time(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    inserts: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO cases "):
            inserts.append(len(params) if many else 1)

    event.listen(database(app).engine, "before_cursor_execute", count)
    bulk = _scenario(OTHER_POINT, "aaaa")
    muts = [(i + 1, REPORT, a) for i, a in enumerate(bulk)]
    together = ok(push(client, citizen, "phone-bulk", *muts))["results"]
    assert inserts == [5]  # one statement for the five new cases
    inserts.clear()
    apart = []
    for i, a in enumerate(_scenario((OTHER_POINT[0] + 0.003, OTHER_POINT[1]), "bbbb")):
        apart += ok(push(client, citizen, "phone-apart", (i + 1, REPORT, a)))["results"]
    assert inserts == [1] * 5
    assert _answers(together, "aaaa") == _answers(apart, "bbbb")
    ids = [f"00000000-0000-4000-8000-aaaa0000000{n}" for n in range(1, 7)]
    assert [r["status"] for r in together] == [
        "applied", "applied", "refused", "applied", "applied", "applied",
    ]  # fmt: skip
    assert together[2]["code"] == "unknown_category"
    assert [r["result"].get("same_problem") for r in together if r["status"] == "applied"] == [
        [], [ids[0]], [], [ids[0], ids[1]], [],
    ]  # fmt: skip
    # every row of a filed case, none of the refused one
    assert _count(app, Case) == _count(app, CaseEvent) == _count(app, CaseReporter) == 10
    again = ok(push(client, citizen, "phone-bulk", *muts))["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 2 + ["refused"] + ["duplicate"] * 3
    assert [r["result"] for r in again] == [r["result"] for r in together]
    changes, _, _ = pull_all(client, login(client, DISPATCHER), "desk")
    seen = {c["id"] for c in changes if c["collection"] == "cases"}
    assert set(ids) - seen == {ids[2]}


def test_a_known_id_in_a_run_is_answered_alone(app: Flask, client: FlaskClient) -> None:
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    first = report_args()
    ok(push(client, citizen, "phone-1", (1, REPORT, first)))
    clash = {**first, "description": "另一件事"}
    muts = [(2, REPORT, report_args()), (3, REPORT, first), (4, REPORT, clash),
            (5, REPORT, report_args())]  # fmt: skip
    results = ok(push(client, citizen, "phone-1", *muts))["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("applied", None), ("applied", None), ("refused", "duplicate_id"), ("applied", None),
    ]  # fmt: skip
    assert [r["result"].get("created") for r in results] == [True, False, None, True]
    assert _count(app, Case) == 3


def test_a_report_refused_after_its_insert_leaves_no_trace_in_the_push(
    app: Flask, client: FlaskClient
) -> None:
    """The case row went in before its photo was found missing: the savepoint undoes it and
    the session forgets it, so the fixed resend in the same push files it anew."""
    load_city(app)
    citizen = login_phone(client, app, CITIZEN_PHONE)
    args = report_args(photos=["f" * 64])  # never uploaded
    fixed = {**args, "photos": [upload_photo(client, citizen)]}
    results = ok(push(client, citizen, "phone-1", (1, REPORT, args), (2, REPORT, fixed)))
    answers = [(r["status"], r.get("code")) for r in results["results"]]
    assert answers == [("refused", "unknown_photo"), ("applied", None)]
    assert results["results"][1]["result"]["created"] is True
    assert _count(app, Case) == _count(app, CaseEvent) == _count(app, CaseReporter) == 1
