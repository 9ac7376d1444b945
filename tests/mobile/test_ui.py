"""The real app under Xvfb, driven by simulated touches, against the real server (a thread)
reached through a network cable the test unplugs: a citizen's offline report with a photo,
and an inspector's verify and check tasks done offline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sync.schedule import Backoff
from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT

from .helpers import OTP, Cable, Desk, new_phone, photo_file
from .test_journeys import citizen_report, close_case
from .ui import Driver

pytest.importorskip("kivy")
MS = timedelta(milliseconds=1)
FAST = {"backoff": Backoff(100 * MS, timedelta(seconds=1), 50 * MS), "probe_every": 200 * MS,
        "min_gap": 100 * MS, "interval": timedelta(seconds=1)}  # fmt: skip


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for seed in (1, 2, 3):
        photo_file(folder, 700 + seed + len(str(tmp_path)) % 50)
    monkeypatch.setenv("CGT_PHOTO_DIR", str(folder))
    return folder


@pytest.fixture
def phone(tmp_path: Path, cable: Cable) -> Iterator[Driver]:
    driver = Driver(tmp_path / "phone", cable.url, **FAST)
    yield driver
    driver.close()


def choose_photo(d: Driver, button: str = "choose_photo") -> None:
    d.tap_id(button)
    chooser = d.on("chooser")
    files = chooser.ids.files
    d.until(lambda: files.files, what="the picture folder listed")
    picture = next(f for f in files.files if f.endswith(".png"))
    files.selection = [picture]  # a tap on a file entry selects it
    d.frames(1)
    d.tap_id("choose")


def test_citizen_reports_offline_with_photo_and_follows_it(
    phone: Driver, cable: Cable, desk: Desk, photos: Path
) -> None:
    d = phone
    assert d.app.shell.current == "signin" and "未登录" in d.app.bar_text
    d.type("phone", new_phone())
    d.tap_id("get_code")
    d.until(lambda: d.app.toast_text == "验证码已发送", what="code sent")
    d.type("code", OTP)
    d.tap_id("submit")
    d.on("citizen_home")
    d.until(lambda: d.app.core.state.online, what="first sync")

    cable.cut()  # into the basement
    d.tap_id("report")
    report = d.on("report")
    d.tap_id("submit")  # an empty form says what is missing, and sends nothing
    d.until(lambda: report.ids.category_code_error.text == "请选择问题类别")
    assert report.ids.photos_error.text == "" and report.ids.location_error.text
    choose_photo(d)
    d.on("report")
    d.until(lambda: report.ids.photos_row.children, what="thumbnail")
    d.tap_id("pin")
    pin = d.on("pin")
    canvas = pin.ids.canvas
    from kivy.tests.common import UnitTestTouch

    x, y = canvas.to_window(canvas.center_x + 60, canvas.center_y + 40)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    d.frames(2)
    assert canvas.dx == pytest.approx(60) and canvas.dy == pytest.approx(40)
    d.tap_id("use")
    d.on("report")
    assert "地图标点" in report.ids.place.text and "WGS-84" in report.ids.place.text
    d.tap_id("category")
    cats = d.on("categories")
    d.type("query", "垃圾堆")
    d.until(lambda: cats.ids.results.data, what="category results")
    d.frames(2)
    first = next(w for w in cats.ids.results.children[0].children if w.code == "SJ0101")
    d.tap(first)
    d.on("report")
    assert report.ids.category.text == "暴露垃圾"
    d.type("description", "小区门口垃圾堆了三天")
    d.tap_id("submit")
    detail = d.on("report_detail")
    d.until(lambda: detail.state_text == "待发送", what="shown as waiting")
    d.until(lambda: "离线" in d.app.bar_text and "1条待发送" in d.app.bar_text, what="bar")
    case_id = detail.case_id

    cable.plug()  # network back: the probe notices, the photo and the report go out
    d.until(lambda: "已全部发送" in d.app.bar_text, what="sent")
    d.until(lambda: detail.state_text == "已上报", what="server state")
    staff = desk.case("dispatcher1", case_id)
    assert staff["description"] == "小区门口垃圾堆了三天" and len(staff["photos"]) == 1

    desk.act("dispatcher1", case_id, "register")  # the status update arrives by itself
    d.until(lambda: detail.state_text == "已立案", timeout=90, what="registered arrives")
    detail.refresh()
    d.until(lambda: "立案" in detail.timeline_text, what="timeline")

    d.tap(d.app.root.ids.sync_bar)  # the bar opens the needs-attention list
    attention = d.on("attention")
    assert attention.empty == "没有需要处理的记录"


def test_inspector_verifies_and_checks_offline(
    phone: Driver, cable: Cable, desk: Desk, photos: Path
) -> None:
    d = phone
    check_id = citizen_report(desk, INSPECTOR_POINT, 800)
    close_case(desk, check_id, check=False)
    verify_id = citizen_report(desk, INSPECTOR_POINT, 801)
    desk.act("dispatcher1", verify_id, "request_verify")

    d.tap_id("tab_staff")
    d.type("username", INSPECTOR)
    d.type("password", DEMO_PASSWORD)
    d.tap_id("submit")
    patrol = d.on("patrol")

    def rows() -> dict[str, object]:
        return {w.task.case_id: w for w in patrol.ids.tasks.children}

    d.until(lambda: {check_id, verify_id} <= set(rows()), what="both tasks listed")
    cable.cut()
    for case_id, yes in ((verify_id, True), (check_id, True)):
        d.tap(rows()[case_id])
        task = d.on("task")
        choose_photo(d)
        d.on("task")
        d.until(lambda t=task: t.ids.photo_row.children, what="evidence thumbnail")
        d.tap_id("yes" if yes else "no")
        d.type("note", "现场已查看")
        d.tap_id("save")
        d.on("patrol")
        d.until(lambda c=case_id: rows()[c].task.done_offline, what="done offline")
    d.until(lambda: "2条待发送" in d.app.bar_text, what="two waiting")

    cable.plug()
    d.until(lambda: "已全部发送" in d.app.bar_text, timeout=90, what="sent")
    assert desk.case("dispatcher1", check_id)["state"] == "closed"
    assert desk.case("dispatcher1", verify_id)["verified"] is True
    d.until(lambda: not {check_id, verify_id} & set(rows()), what="tasks gone")
