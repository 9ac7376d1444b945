"""Signing in to the console: staff accounts of the API, each role its own home, citizens and
inspectors kept out, a CSRF token on every form, and a language of one's choice."""

from __future__ import annotations

from sqlalchemy import update

from server.db import database
from server.models import User
from tests.console.helpers import console_client, page_token, sign_in, text
from tests.factories import (
    CITIZEN_PHONE,
    DEMO_PASSWORD,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    load_city,
    login,
    login_phone,
)


def test_pages_need_sign_in_and_the_login_page_is_chinese(app, client):
    load_city(app)
    resp = client.get("/console/queue/new")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/console/login?next=/console/queue/new")
    page = client.get("/console/login")
    assert page.status_code == 200 and "登录" in text(page) and 'lang="zh-CN"' in text(page)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_a_dispatcher_signs_in_sees_the_desk_and_signs_out(app, client):
    load_city(app)
    resp = sign_in(client, DISPATCHER)
    assert resp.status_code == 303 and resp.headers["Location"] == "/console/queue/new"
    page = client.get("/console/queue/new")
    assert page.status_code == 200 and "待受理" in text(page) and "派遣员" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    out = client.post("/console/logout", data={"csrf_token": page_token(client, "/console/map")})
    assert out.status_code == 303
    assert client.get("/console/queue/new").status_code == 302


def test_a_handler_lands_on_the_department_list(app, client):
    load_city(app)
    resp = sign_in(client, HANDLER)
    assert resp.headers["Location"] == "/console/queue/todo"
    assert client.get("/console/queue/new").status_code == 404  # desk lists are not theirs


def test_wrong_password_is_a_clear_message_not_a_session(app, client):
    load_city(app)
    resp = sign_in(client, DISPATCHER, "wrong-password")
    assert resp.status_code == 401 and "用户名或密码错误" in text(resp)
    assert client.get("/console/queue/new").status_code == 302
    empty = sign_in(client, "", "")
    assert empty.status_code == 401


def test_citizens_and_inspectors_cannot_use_the_console(app, client):
    load_city(app)
    citizen = sign_in(client, CITIZEN_PHONE, "anything")
    assert citizen.status_code == 401
    inspector = sign_in(client, INSPECTOR)
    assert inspector.status_code == 403 and "手机应用" in text(inspector)
    assert client.get("/console/queue/open").status_code == 302
    # A citizen's API token opens nothing in the console either.
    bearer = login_phone(client, app, CITIZEN_PHONE)
    assert client.get("/console/queue/open", headers=bearer).status_code == 302
    assert client.get("/console/queue/open", headers=login(client, INSPECTOR)).status_code == 302


def test_every_post_needs_the_csrf_token(app, client):
    load_city(app)
    bare = client.post("/console/login", data={"username": DISPATCHER, "password": "x"})
    assert bare.status_code == 400 and "刷新页面" in text(bare)
    signed = console_client(app, DISPATCHER)
    forged = signed.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert signed.get("/console/queue/new").status_code == 200  # still signed in


def test_next_goes_back_inside_the_console_only(app, client):
    load_city(app)
    token = page_token(client)
    data = {"username": DISPATCHER, "password": DEMO_PASSWORD, "csrf_token": token}
    resp = client.post("/console/login", data={**data, "next": "/console/map"})
    assert resp.headers["Location"] == "/console/map"
    other = app.test_client()
    data["csrf_token"] = page_token(other)
    resp = other.post("/console/login", data={**data, "next": "https://evil.example/console"})
    assert resp.headers["Location"] == "/console/queue/new"


def test_a_disabled_account_is_signed_out_at_once(app):
    load_city(app)
    client = console_client(app, DISPATCHER)
    with database(app).session() as s:
        s.execute(update(User).where(User.username == DISPATCHER).values(active=False))
    assert client.get("/console/queue/new").status_code == 302


def test_english_is_one_click_away_and_survives_sign_in(app, client):
    load_city(app)
    resp = client.get("/console/language/en?next=/console/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/login"
    assert "Sign in" in text(client.get("/console/login"))
    assert sign_in(client, DISPATCHER).status_code == 303
    page = text(client.get("/console/queue/new"))
    assert "New reports" in page and "待受理" not in page
    client.get("/console/language/xx")  # unknown: ignored
    assert "New reports" in text(client.get("/console/queue/new"))
    client.get("/console/language/zh")
    assert "待受理" in text(client.get("/console/queue/new"))
