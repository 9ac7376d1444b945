"""Wrong passwords are limited by one rule for the console and the API (services.auth): five
for one user name, or twenty from one address, within 15 minutes, and sign-in is refused in
Chinese and English with the minutes left — even with the right password — until the oldest
failure is 15 minutes old. An unknown /console/... address is a console page, not JSON."""

from __future__ import annotations

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
