"""Fixtures for console tests: the demo city, API tokens to set cases up, signed-in consoles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import (
    CITIZEN_PHONE,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    load_city,
    login,
    login_phone,
)


@pytest.fixture
def city(app: Any, client: Any) -> dict[str, Any]:
    """The demo city and API tokens of its people (tokens last as long as the clock jumps)."""
    load_city(app)
    app.config["ACCESS_TOKEN_SECONDS"] = 90 * 86400
    return {
        "citizen": login_phone(client, app, CITIZEN_PHONE),
        "dispatcher": login(client, DISPATCHER),
        "handler": login(client, HANDLER),
        "inspector": login(client, INSPECTOR),
    }
