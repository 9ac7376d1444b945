"""``make screenshots``: the app's main screens in Chinese, saved as docs/screenshots/mobile-*.png.

Starts the real server (demo city) in a thread, drives the real app under a display the way the
UI tests do, and photographs each screen. Synthetic data only.

    python -m tests.mobile.screenshots docs/screenshots
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")


def main(out: Path) -> int:
    from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT
    from tests.mobile.helpers import OTP, Cable, Desk, new_phone, photo_file, thread_server
    from tests.mobile.test_journeys import citizen_report, close_case
    from tests.mobile.test_ui import FAST, choose_photo
    from tests.mobile.ui import Driver

    tmp = Path(tempfile.mkdtemp(prefix="cgt-shots-"))
    pictures = tmp / "pictures"
    pictures.mkdir()
    photo_file(pictures, 5)
    os.environ["CGT_PHOTO_DIR"] = str(pictures)
    with thread_server(tmp) as base:
        desk, cable = Desk(base), Cable(base)
        check_id = citizen_report(desk, INSPECTOR_POINT, 900)
        close_case(desk, check_id, check=False)
        for seed, dlat in ((901, 0.0004), (902, 0.0011)):
            case_id = citizen_report(desk, (INSPECTOR_POINT[0] + dlat, INSPECTOR_POINT[1]), seed)
            desk.act("dispatcher1", case_id, "request_verify")
        d = Driver(tmp / "phone", cable.url, **FAST)
        shot = lambda name: d.screenshot(out / f"mobile-{name}.png")  # noqa: E731
        shot("signin")
        d.type("phone", new_phone())
        d.tap_id("get_code")
        d.until(lambda: d.app.toast_text)
        d.type("code", OTP)
        d.tap_id("submit")
        d.on("citizen_home")
        d.until(lambda: d.app.core.state.online)
        d.app.hide_toast()
        shot("home")
        # one report that went through, one still waiting offline
        for i, description in enumerate(("小区门口垃圾堆了三天，气味很大", "人行道上有井盖松动")):
            d.tap_id("report")
            d.on("report")
            choose_photo(d)
            d.on("report")
            d.tap_id("pin")
            d.on("pin")
            d.tap_id("use")
            d.on("report")
            d.tap_id("category")
            cats = d.on("categories")
            d.type("query", "垃圾" if i == 0 else "井盖")
            d.until(lambda c=cats: c.ids.results.data)
            if i == 0:
                shot("categories")
            d.frames(2)
            d.tap(cats.ids.results.children[0].children[-1])
            d.on("report")
            d.type("address", "光明路 12 号" if i == 0 else "光明路与建设路口")
            d.type("description", description)
            d.app.hide_toast()
            if i == 1:
                cable.cut()  # the form does not wait for the network: the shot needs no wait
                shot("report")
            d.tap_id("submit")
            d.on("report_detail")
            if i == 0:
                d.until(lambda: d.app.core.state.waiting == d.app.core.state.sent == 0
                        and d.screen.state_text == "已上报")  # fmt: skip
                desk.act("dispatcher1", d.screen.case_id, "register")
                d.until(lambda: d.screen.state_text == "已立案", timeout=30)
                d.screen.refresh()
                d.until(lambda: "立案" in d.screen.timeline_text)
                d.app.hide_toast()
                shot("report-detail")
            d.app.back()
            d.on("citizen_home")
        d.until(lambda: "离线" in d.app.bar_text)
        d.tap_id("my_reports")
        d.on("my_reports")
        d.until(lambda: len(d.screen.ids.rows.data) == 2)
        d.app.hide_toast()
        shot("my-reports")
        cable.plug()
        state = lambda: d.app.core.state  # noqa: E731
        d.until(lambda: state().waiting == state().sent == 0 and state().online)
        d.app.go("settings")
        d.on("settings")
        shot("settings")
        d.tap_id("sign_out")
        d.on("signin")
        d.tap_id("tab_staff")
        d.type("username", INSPECTOR)
        d.type("password", DEMO_PASSWORD)
        d.tap_id("submit")
        patrol = d.on("patrol")
        d.until(lambda: len(patrol.ids.tasks.children) >= 3)
        patrol._set_kind("SJ0101")
        d.app.hide_toast()
        shot("patrol")
        rows = {w.task.case_id: w for w in patrol.ids.tasks.children}
        d.tap(rows[check_id])
        d.on("task")
        choose_photo(d)
        d.on("task")
        d.type("note", "现场已清理干净")
        d.app.hide_toast()
        shot("task")
        d.close()
        cable.cut()
    print(f"screenshots saved in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
