"""Test helpers shared by every API test: the demo city and signing in as its people.

    from tests.factories import load_city, login, login_phone, DISPATCHER, INSPECTOR_POINT

    def test_something(app, client):
        load_city(app)
        headers = login(client, DISPATCHER)
        citizen = login_phone(client, app, CITIZEN_PHONE)

The demo city is described in docs/city-data.md; its accounts are listed by
``flask --app server cgt demo-logins``.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.db import database
from server.services.auth import hasher
from server.services.demo import (
    CITIZEN_PHONES,
    DEMO_PASSWORD,
    MERCHANT_PHONES,
    DemoLogins,
    cell_center,
    load_demo_city,
)

__all__ = ["DEMO_PASSWORD", "load_city", "login", "login_phone"]

ADMIN = "admin"
DISPATCHER = "dispatcher1"
DISPATCHER2 = "dispatcher2"

# inspector1 patrols the four cells of 新华区 光明路一社区; inspector7 those of 卫东区 东安路一社区.
INSPECTOR = "inspector1"
INSPECTOR_CELL = "410402001001001"
INSPECTOR_POINT = cell_center(INSPECTOR_CELL)  # (lat, lon) WGS-84 inside INSPECTOR_CELL
OTHER_INSPECTOR = "inspector7"
OTHER_CELL = "410403001001001"
OTHER_POINT = cell_center(OTHER_CELL)
DISTRICT_XINHUA, DISTRICT_WEIDONG, DISTRICT_ZHANHE = "410402", "410403", "410411"
OUTSIDE_POINT = (34.5, 113.6)  # in China (Zhengzhou), outside the demo grid

# Handlers, one per department; the case queue routes these categories to them in the demo city.
HANDLER = "handler_sanitation"  # 暴露垃圾 SJ0101 in 新华区/卫东区, toilets BJ0301
HANDLER_DEPARTMENT = "SANITATION"
MUNICIPAL_HANDLER = "handler_municipal"  # 井盖 BJ0101
MUNICIPAL_DEPARTMENT = "MUNICIPAL"
XINHUA_HANDLER = "handler_xinhua_cgj"  # 占道经营 SJ0501 and ads SJ02xx in 新华区
XINHUA_DEPARTMENT = "XINHUA_CGJ"

CITIZEN_PHONE, CITIZEN2_PHONE = CITIZEN_PHONES[0], CITIZEN_PHONES[1]
MERCHANT_PHONE, MERCHANT2_PHONE = MERCHANT_PHONES[0], MERCHANT_PHONES[1]

_devices = itertools.count(1)


def load_city(app: Flask) -> DemoLogins:
    """Load the demo city into the test app's database (argon2 cost from the test config)."""
    with database(app).session() as s:
        return load_demo_city(s, hasher(app.config), app.config["CLOCK"]())


def _bearer(resp: Any, who: str) -> dict[str, str]:
    assert resp.status_code == 200, f"sign-in of {who} failed: {resp.status_code} {resp.json}"
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


def login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """Sign a staff user in on a fresh device; returns the Authorization header."""
    resp = client.post(
        "/api/auth/login",
        json={"username": username, "password": password, "device_id": f"test-{next(_devices)}"},
    )
    return _bearer(resp, username)


def login_phone(client: FlaskClient, app: Flask, phone: str) -> dict[str, str]:
    """Sign a citizen or merchant in by SMS code, read from the development SMS provider.

    A phone may ask for a code once per ``OTP_RESEND_SECONDS`` of the test clock: sign each
    phone in once per test, or advance the ``clock`` fixture between sign-ins.
    """
    sent = client.post("/api/auth/otp", json={"phone": phone})
    assert sent.status_code == 202, f"OTP request for {phone} failed: {sent.json}"
    code = next(c for p, c in reversed(app.extensions["cgt_sms"].sent) if p == phone)
    resp = client.post(
        "/api/auth/otp/verify",
        json={"phone": phone, "code": code, "device_id": f"test-{next(_devices)}"},
    )
    return _bearer(resp, phone)
