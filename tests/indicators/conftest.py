"""Fixtures for the indicator and assessment tests: the demo city plus the story's cases."""

from __future__ import annotations

from datetime import UTC

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.clock import FixedClock
from tests.api.case_helpers import upload_photo
from tests.factories import ADMIN, DISPATCHER, load_city, login

from .story import NOW, bj, play


@pytest.fixture
def city(app: Flask) -> None:
    load_city(app)


@pytest.fixture
def story(app: Flask, client: FlaskClient, city: None, clock: FixedClock) -> dict[str, str]:
    """The cases of ``story.py``, with the app's clock at the story's "now"."""
    photo = upload_photo(client, login(client, DISPATCHER))
    ids = play(app, photo)
    clock.now = bj(NOW).astimezone(UTC)
    return ids


@pytest.fixture
def office(client: FlaskClient, story: dict[str, str]) -> dict[str, str]:
    """The assessment office (考核办): the admin, signed in, with the story loaded."""
    return login(client, ADMIN)
