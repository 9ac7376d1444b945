"""End to end with a real server process: a citizen reports on the app, the report reaches the
dispatcher's queue, is dispatched and handled over the API, checked in the inspector's app, and
the citizen's app shows it closed (and takes the rating). Each app is the real Kivy app under
Xvfb with a folder of its own, run one after the other as two phones would be."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import DEMO_PASSWORD, INSPECTOR

from .helpers import OTP, Desk, new_phone, photo_bytes, process_server
from .test_ui import FAST, choose_photo
from .ui import Driver

pytest.importorskip("kivy")


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with process_server(tmp_path_factory.mktemp("e2e-server")) as base:
        yield base


@pytest.fixture
def pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from .helpers import photo_file

    folder = tmp_path / "pictures"
    folder.mkdir()
    photo_file(folder, 950)
    monkeypatch.setenv("CGT_PHOTO_DIR", str(folder))
    return folder


def test_a_report_from_the_app_goes_all_the_way_to_closed(
    real_server: str, tmp_path: Path, pictures: Path
) -> None:
    desk = Desk(real_server)
    citizen_home, inspector_home = tmp_path / "citizen-phone", tmp_path / "inspector-phone"

    # 1. the citizen reports on the app
    d = Driver(citizen_home, real_server, **FAST)
    try:
        d.type("phone", new_phone())
        d.tap_id("get_code")
        d.until(lambda: d.app.toast_text)
        d.type("code", OTP)
        d.tap_id("submit")
        d.on("citizen_home")
        d.tap_id("report")
        d.on("report")
        choose_photo(d)
        d.on("report")
        d.tap_id("pin")
        d.on("pin")
        d.tap_id("use")  # the pin starts in the demo city's centre (inspector1's grid cell)
        d.on("report")
        d.tap_id("category")
        cats = d.on("categories")
        d.type("query", "暴露垃圾")
        d.until(lambda: cats.ids.results.data)
        d.frames(2)
        d.tap(next(w for w in cats.ids.results.children[0].children if w.code == "SJ0101"))
        d.on("report")
        d.type("description", "端到端：路口垃圾堆")
        d.tap_id("submit")
        detail = d.on("report_detail")
        d.until(lambda: detail.state_text == "已上报", timeout=90, what="reported")
        case_id = detail.case_id
    finally:
        d.close()

    # 2. the command centre sees it in its queue and dispatches it; the department handles it
    queue = desk.call("dispatcher1", "GET", "/api/queue?limit=200")
    assert case_id in {c["id"] for c in queue["items"]}
    desk.act("dispatcher1", case_id, "register")
    desk.act("dispatcher1", case_id, "dispatch")
    desk.act("handler_sanitation", case_id, "accept")
    sha = desk.upload_photo("handler_sanitation", photo_bytes(951))
    desk.act("handler_sanitation", case_id, "handle", photos=[sha], note="已清运")
    desk.act("dispatcher1", case_id, "request_check")

    # 3. the inspector checks it on the app
    d = Driver(inspector_home, real_server, **FAST)
    try:
        d.tap_id("tab_staff")
        d.type("username", INSPECTOR)
        d.type("password", DEMO_PASSWORD)
        d.tap_id("submit")
        patrol = d.on("patrol")
        d.until(lambda: any(w.task.case_id == case_id for w in patrol.ids.tasks.children),
                timeout=90, what="the check task")  # fmt: skip
        d.tap(next(w for w in patrol.ids.tasks.children if w.task.case_id == case_id))
        task = d.on("task")
        assert task.heading == "核查：问题是否已解决？"
        choose_photo(d)
        d.on("task")
        d.tap_id("yes")
        d.type("note", "现场已清理干净")
        d.tap_id("save")
        d.on("patrol")
        d.until(lambda: "已全部发送" in d.app.bar_text, timeout=90, what="check sent")
    finally:
        d.close()
    assert desk.case("dispatcher1", case_id)["state"] == "closed"

    # 4. the citizen's app (signed in still) shows it closed and takes the rating
    d = Driver(citizen_home, real_server, **FAST)
    try:
        d.on("citizen_home")
        d.tap_id("my_reports")
        mine = d.on("my_reports")

        def closed() -> bool:
            return any(r["case_id"] == case_id and r["state"] == "closed"
                       for r in mine.ids.rows.data)  # fmt: skip

        d.until(closed, timeout=90, what="closed arrives")
        d.app.go("report_detail", case_id=case_id)
        detail = d.on("report_detail")
        d.until(lambda: detail.state_text == "已结案" and detail.can_rate, what="rate offered")
        d.tap_id("star5")
        d.tap_id("rate")
        d.until(lambda: d.app.core.state.waiting == 0 and "已全部发送" in d.app.bar_text,
                timeout=90, what="rating sent")  # fmt: skip
        detail.refresh()
        d.until(lambda: "核查" in detail.timeline_text, timeout=90, what="check in timeline")
    finally:
        d.close()
    assert desk.case("dispatcher1", case_id)["rating"] == 5
