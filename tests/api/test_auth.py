"""Sign-in: phone codes expire and limit attempts, passwords are argon2, tokens are per device,
refreshable and revocable."""

from datetime import UTC, datetime

import pytest

from server.db import database
from server.models import User
from server.services.auth import hasher

PHONE = "13800138000"


def sent_codes(app):
    return [c for p, c in app.extensions["cgt_sms"].sent if p == PHONE]


def ask_code(client):
    return client.post("/api/auth/otp", json={"phone": PHONE})


def verify(client, code, device="phone-1"):
    return client.post(
        "/api/auth/otp/verify", json={"phone": PHONE, "code": code, "device_id": device}
    )


@pytest.fixture
def staff(app):
    with database(app).session() as s:
        s.add(
            User(
                role="dispatcher",
                username="disp",
                display_name="调度员",
                password_hash=hasher(app.config).hash("s3cret!"),
                active=True,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def test_phone_sign_in_creates_a_citizen(client, app):
    assert ask_code(client).status_code == 202
    resp = verify(client, sent_codes(app)[-1])
    assert resp.status_code == 200
    body = resp.json
    assert body["user"]["role"] == "citizen" and body["user"]["phone"] == PHONE
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json["phone"] == PHONE


def test_code_expires(client, app, clock):
    ask_code(client)
    clock.advance(seconds=app.config["OTP_TTL_SECONDS"] + 1)
    resp = verify(client, sent_codes(app)[-1])
    assert resp.status_code == 401 and resp.json["code"] == "otp_invalid"


def test_wrong_codes_are_limited_even_for_the_right_code_after(client, app):
    ask_code(client)
    good = sent_codes(app)[-1]
    bad = "000000" if good != "000000" else "111111"
    for _ in range(app.config["OTP_MAX_ATTEMPTS"]):
        assert verify(client, bad).status_code == 401
    resp = verify(client, good)
    assert resp.status_code == 401  # the code is burnt: a guesser gets nowhere
    assert resp.json["message_zh"]


def test_resend_is_throttled(client, clock):
    assert ask_code(client).status_code == 202
    resp = ask_code(client)
    assert resp.status_code == 429 and resp.json["code"] == "otp_too_soon"
    clock.advance(seconds=61)
    assert ask_code(client).status_code == 202


def test_bad_phone_is_a_structured_422(client):
    resp = client.post("/api/auth/otp", json={"phone": "12345"})
    assert resp.status_code == 422
    assert resp.json["code"] == "validation_failed" and "phone" in resp.json["errors"]


def test_password_login_refresh_and_revoke(client, staff):
    bad = client.post(
        "/api/auth/login", json={"username": "disp", "password": "nope", "device_id": "pc"}
    )
    assert bad.status_code == 401 and bad.json["code"] == "bad_credentials"
    unknown = client.post(
        "/api/auth/login", json={"username": "ghost", "password": "nope", "device_id": "pc"}
    )
    assert unknown.status_code == 401 and unknown.json["code"] == "bad_credentials"
    tokens = client.post(
        "/api/auth/login", json={"username": "disp", "password": "s3cret!", "device_id": "pc"}
    ).json
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/auth/me", headers=auth).status_code == 200

    new = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert new.status_code == 200
    # The old pair stops working once refreshed.
    assert client.get("/api/auth/me", headers=auth).status_code == 401
    again = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    auth = {"Authorization": f"Bearer {new.json['access_token']}"}
    assert client.post("/api/auth/logout", headers=auth).status_code == 204
    assert client.get("/api/auth/me", headers=auth).status_code == 401


def test_access_token_expires(client, staff, clock, app):
    tokens = client.post(
        "/api/auth/login", json={"username": "disp", "password": "s3cret!", "device_id": "pc"}
    ).json
    clock.advance(seconds=app.config["ACCESS_TOKEN_SECONDS"] + 1)
    resp = client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert resp.status_code == 401 and resp.json["code"] == "token_expired"


def test_devices_are_listed_and_revoked_remotely(client, staff):
    def login(device):
        return client.post(
            "/api/auth/login", json={"username": "disp", "password": "s3cret!", "device_id": device}
        ).json

    pc, phone = login("pc"), login("phone")
    auth_pc = {"Authorization": f"Bearer {pc['access_token']}"}
    devices = client.get("/api/auth/devices", headers=auth_pc).json
    assert {d["device_id"] for d in devices} == {"pc", "phone"}
    lost = next(d for d in devices if d["device_id"] == "phone")
    assert client.delete(f"/api/auth/devices/{lost['id']}", headers=auth_pc).status_code == 204
    gone = client.get("/api/auth/me", headers={"Authorization": f"Bearer {phone['access_token']}"})
    assert gone.status_code == 401


def test_staff_cannot_sign_in_by_phone_code(client, app):
    with database(app).session() as s:
        s.add(
            User(
                role="inspector",
                username="insp",
                phone=PHONE,
                display_name="x",
                active=True,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    ask_code(client)
    assert verify(client, sent_codes(app)[-1]).status_code == 403


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic abc"])
def test_missing_or_bad_tokens_are_401(client, header):
    resp = client.get("/api/auth/me", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert set(resp.json) == {"code", "message", "message_zh", "errors"}
