"""An entry and publishing at the same moment: publishing waits for the entry, never half of it."""

from __future__ import annotations

import threading
import time
from datetime import UTC
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.db import database
from server.models import AssessmentScore, Department, User
from server.services import assessment_entry as entry
from server.services.actor import Actor
from shared_models.enums import Role
from shared_models.errors import Conflict

from .story import BEIJING, NOW, bj
from .test_assessment_api import OCTOBER, OTHERS, call, units


def test_publishing_waits_for_an_entry_in_progress(
    app: Flask, client: FlaskClient, office: dict[str, str]
) -> None:
    # Every part of every unit, except GAS's 创园 score: October cannot be published yet.
    almost = units(OCTOBER, OTHERS)
    gas = next(u for u in almost if u["department"] == "GAS")
    gas["chuangyuan"] = None
    call(client, "PUT", "/api/assessments/2026-10/scores", office, 200, json={"units": almost})
    db, now = database(app), bj(NOW).astimezone(UTC)
    with db.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        actor = Actor(admin.id, Role.ADMIN)
    entered, outcome = threading.Event(), {}

    def enter_slowly() -> None:  # the entry holds the month while it is written
        with db.session() as s:
            entry.enter_scores(s, actor, "2026-10", [{"department": "GAS", "chuangyuan": 66}], now)
            entered.set()
            time.sleep(1.0)

    def publish() -> None:
        try:
            with db.session() as s:
                outcome["bulletin"] = entry.publish(s, actor, "2026-10", now, BEIJING)
        except Exception as e:  # noqa: BLE001 (recorded for the assertion below)
            outcome["error"] = e

    writer = threading.Thread(target=enter_slowly)
    writer.start()
    assert entered.wait(10)
    publisher = threading.Thread(target=publish)
    publisher.start()
    writer.join(30)
    publisher.join(30)
    assert not writer.is_alive() and not publisher.is_alive(), "a write lock was never released"
    assert "error" not in outcome, outcome
    gas_unit = next(u for u in outcome["bulletin"]["units"] if u["department"] == "GAS")
    assert gas_unit["parts"]["chuangyuan"] == 66.0  # the entry is in the published bulletin


def test_an_entry_during_publishing_is_refused_not_slipped_in(
    app: Flask, client: FlaskClient, office: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    call(client, "PUT", "/api/assessments/2026-10/scores", office, 200,
         json={"units": units(OCTOBER, OTHERS)})  # fmt: skip
    db, now = database(app), bj(NOW).astimezone(UTC)
    with db.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        actor = Actor(admin.id, Role.ADMIN)
    publishing, outcome = threading.Event(), {}
    compute = entry.compute

    def slow_compute(*args: Any) -> Any:  # publishing holds the month while it computes
        publishing.set()
        time.sleep(1.0)
        return compute(*args)

    monkeypatch.setattr(entry, "compute", slow_compute)

    def publish() -> None:
        with db.session() as s:
            entry.publish(s, actor, "2026-10", now, BEIJING)

    def enter() -> None:
        try:
            with db.session() as s:
                entry.enter_scores(s, actor, "2026-10", [{"department": "GAS", "special": 1}], now)
        except Conflict as e:
            outcome["refused"] = e.code

    publisher = threading.Thread(target=publish)
    publisher.start()
    assert publishing.wait(10)
    writer = threading.Thread(target=enter)
    writer.start()
    publisher.join(30)
    writer.join(30)
    assert not writer.is_alive() and not publisher.is_alive(), "a write lock was never released"
    assert outcome == {"refused": "assessment_published"}
    with db.session() as s:
        score = s.scalar(select(AssessmentScore.special).join(Department).where(
            Department.code == "GAS", AssessmentScore.month == "2026-10"))  # fmt: skip
    assert score == 4000  # still the 40.00 entered before publishing
