"""Wrong passwords are limited by one rule for the console and the API (services.auth): five
for one user name, or twenty from one address, within 15 minutes, and sign-in is refused in
Chinese and English with the minutes left — even with the right password — until the oldest
failure is 15 minutes old. An unknown /console/... address is a console page, not JSON."""

from __future__ import annotations

import pytest

from server import create_app, shutdown
from tests.console.helpers import console_client, sign_in, text
from tests.factories import DEMO_PASSWORD, DISPATCHER, HANDLER, load_city


def _api_login(client, username, password, address="127.0.0.1"):
    body = {"username": username, "password": password, "device_id": "d1", "device_name": "t"}
    return client.post("/api/auth/login", json=body, environ_base={"REMOTE_ADDR": address})


def test_five_wrong_passwords_lock_the_user_name_for_fifteen_minutes(app, client, clock):
    load_city(app)
    for _ in range(5):
        resp = sign_in(client, DISPATCHER, "wrong-password")
        assert resp.status_code == 401 and "用户名或密码错误" in text(resp)
    resp = sign_in(client, DISPATCHER)  # the right password, but locked
    assert resp.status_code == 429
    assert "登录失败次数过多，请等待15分钟后再试" in text(resp)
    client.get("/console/language/en")
    clock.advance(minutes=6)
    resp = sign_in(client, DISPATCHER)
    assert resp.status_code == 429 and "please wait 9 minutes" in text(resp)
    # One rule set: the API refuses the same user name, with the bilingual error.
    api = _api_login(client, DISPATCHER, DEMO_PASSWORD)
    assert api.status_code == 429 and api.json["code"] == "login_too_many_attempts"
    assert "9分钟" in api.json["message_zh"] and "9 minutes" in api.json["message"]
    # Another user name from the same address is not locked.
    assert sign_in(app.test_client(), HANDLER).status_code == 303
    clock.advance(minutes=9, seconds=1)
    assert sign_in(client, DISPATCHER).status_code == 303


def test_api_failures_count_for_the_console_and_a_success_clears_them(app, client, clock):
    load_city(app)
    for _ in range(4):
        assert _api_login(client, DISPATCHER, "wrong").status_code == 401
    assert _api_login(client, DISPATCHER, DEMO_PASSWORD).status_code == 200  # clears the 4
    for _ in range(4):
        assert _api_login(client, DISPATCHER, "wrong").status_code == 401
    assert sign_in(app.test_client(), DISPATCHER).status_code == 303  # 4 < 5: still allowed
    assert _api_login(client, DISPATCHER, "wrong").status_code == 401  # the 5th after it
    assert sign_in(app.test_client(), DISPATCHER).status_code == 303  # success cleared again


def test_twenty_failures_from_one_address_lock_that_address(app, client, clock):
    load_city(app)
    for i in range(20):  # a different (unknown) user name each time
        assert _api_login(client, f"guess{i}", "x", address="10.0.0.9").status_code == 401
    locked = _api_login(client, DISPATCHER, DEMO_PASSWORD, address="10.0.0.9")
    assert locked.status_code == 429 and locked.json["code"] == "login_too_many_attempts"
    assert _api_login(client, DISPATCHER, DEMO_PASSWORD, address="10.0.0.8").status_code == 200
    clock.advance(minutes=15, seconds=1)
    assert _api_login(client, DISPATCHER, DEMO_PASSWORD, address="10.0.0.9").status_code == 200


def test_an_unknown_console_address_is_a_console_page_in_the_viewers_language(app, client):
    load_city(app)
    resp = client.get("/console/no/such/page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "此页面不存在" in text(resp) and "登录" in text(resp)
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    desk = console_client(app, DISPATCHER)
    desk.get("/console/language/en")
    resp = desk.get("/console/queue/nonsense/extra")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    page = text(resp)
    assert "There is no such page" in page and "Back to my work list" in page
    assert 'data-role="dispatcher"' in page  # the top bar of the signed-in user
    # The API keeps its JSON.
    api = client.get("/api/no/such/thing")
    assert api.status_code == 404 and api.json["code"] == "not_found"


@pytest.fixture
def behind_proxy(app):
    """The same server configured with ``PROXY_HOPS`` (one nginx in front: 1); each app made
    here gets its engine disposed, or a pooled PostgreSQL connection outlives the test."""
    made = []

    def make(hops):
        keys = ("TESTING", "DATABASE_URL", "PHOTO_DIR", "CLOCK")
        keys += ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST")
        made.append(create_app({**{k: app.config[k] for k in keys}, "PROXY_HOPS": hops}))
        return made[-1]

    yield make
    for other in made:
        shutdown(other)


def _via_nginx(client, username, password, client_address):
    body = {"username": username, "password": password, "device_id": "d1", "device_name": "t"}
    return client.post("/api/auth/login", json=body, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                       headers={"X-Forwarded-For": client_address})  # fmt: skip


def test_behind_a_proxy_one_office_guessing_does_not_lock_out_the_other_staff(
    app, clock, behind_proxy
):
    """Every request reaches the app from nginx's address; with PROXY_HOPS=1 the limit counts
    the client's address from X-Forwarded-For, so twenty wrong passwords from one office lock
    that office only — and the console's sign-in counts the same address."""
    load_city(app)
    proxied = behind_proxy(1).test_client()
    for i in range(20):
        assert _via_nginx(proxied, f"guess{i}", "x", "10.0.0.9").status_code == 401
    assert _via_nginx(proxied, DISPATCHER, DEMO_PASSWORD, "10.0.0.9").status_code == 429
    assert _via_nginx(proxied, DISPATCHER, DEMO_PASSWORD, "10.0.0.8").status_code == 200
    office = behind_proxy(1).test_client()
    office.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.0.0.9"})
    assert sign_in(office, HANDLER).status_code == 429
    office.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.8"
    assert sign_in(office, HANDLER).status_code == 303


def test_without_proxy_hops_a_forwarded_address_is_not_believed(app, clock, behind_proxy):
    """PROXY_HOPS=0 (the default: no proxy): a client cannot dodge the limit by sending its
    own X-Forwarded-For — the peer address is what counts."""
    load_city(app)
    direct = behind_proxy(0).test_client()
    for i in range(20):
        assert _via_nginx(direct, f"guess{i}", "x", f"10.1.0.{i}").status_code == 401
    assert _via_nginx(direct, DISPATCHER, DEMO_PASSWORD, "10.2.0.1").status_code == 429
