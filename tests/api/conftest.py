"""Fixtures of the API tests: signed-in people of any role."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask

from server.clock import FixedClock
from server.db import database
from server.models import User
from server.services.auth import AuthSettings, issue_tokens
from shared_models.enums import Role
from tests.factories import CITIZEN_PHONE, DISPATCHER, INSPECTOR, load_city, login, login_phone


@dataclass
class Person:
    id: int
    headers: dict[str, str]


@pytest.fixture
def person(app: Flask, clock: FixedClock) -> Callable[[Role], Person]:
    """Make a signed-in user of a role."""
    numbers = itertools.count(1)
    cfg = AuthSettings(3600, 30, 300, 5, 60)

    def make(role: Role) -> Person:
        n = next(numbers)
        with database(app).session() as s:
            user = User(
                role=role.value,
                username=f"{role.value}{n}",
                display_name=f"{role.value} {n}",
                active=True,
                created_at=clock.now,
            )
            s.add(user)
            s.flush()
            tokens = issue_tokens(s, user, f"device-{n}", "test", cfg, clock.now)
            return Person(user.id, {"Authorization": f"Bearer {tokens['access_token']}"})

    return make


@pytest.fixture
def citizen(person: Callable[[Role], Person]) -> Person:
    return person(Role.CITIZEN)


@pytest.fixture
def people(app: Flask, client) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The demo city loaded, and the headers of its citizen, dispatcher and inspector
    (a module wanting more people defines its own ``people``)."""
    load_city(app)
    return {
        "citizen": login_phone(client, app, CITIZEN_PHONE),
        "dispatcher": login(client, DISPATCHER),
        "inspector": login(client, INSPECTOR),
    }
