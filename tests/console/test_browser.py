"""The console in real headless Chromium against a real server process, on SQLite and
PostgreSQL: the desk and a department take a case from report to closing, and two
dispatchers acting on one case at once cannot overwrite each other."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console import serve
from tests.console.browser import (
    Api,
    ConsoleServer,
    action_form,
    body_text,
    chromium,
    click_and_wait,
    require_chromium,
    sign_in,
)
from tests.factories import (
    CITIZEN2_PHONE,
    CITIZEN_PHONE,
    DISPATCHER,
    DISPATCHER2,
    HANDLER,
    HANDLER_DEPARTMENT,
    INSPECTOR,
    INSPECTOR_POINT,
    MUNICIPAL_HANDLER,
)
from tests.integration.pg import scratch_database

pytestmark = pytest.mark.timeout(600)


def _jpeg(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), rgb).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConsoleServer]:
    require_chromium()
    if request.param == "sqlite":
        running = ConsoleServer(f"sqlite:///{tmp_path / 'console.sqlite3'}", tmp_path)
        yield running
        log = running.stop()
    else:
        with scratch_database("cgt_console_browser") as url:
            running = ConsoleServer(url, tmp_path)
            yield running
            log = running.stop()
    assert "Traceback" not in log, log


def _report(api: Api, who: dict[str, str], address: str, rgb: tuple[int, int, int]) -> str:
    lat, lon = INSPECTOR_POINT
    body = {
        "id": str(uuid.uuid4()),
        "category_code": "SJ0101",
        "lat": lat,
        "lon": lon,
        "address": address,
        "description": "路边一堆垃圾没人清",
        "photos": [api.photo(who, _jpeg(rgb))],
    }
    return str(api.report(who, body)["case"]["id"])


def _city_count(driver, key: str) -> int:
    cell = driver.find_element(
        By.CSS_SELECTOR, f'#indicator-table tr[data-row="city"] [data-count="{key}"]'
    )
    return int(cell.text)


def test_a_case_from_report_to_closing_through_the_console(server, tmp_path):
    api = Api(server.base)
    citizen = api.login_phone(CITIZEN_PHONE, serve.OTP)
    neighbour = api.login_phone(CITIZEN2_PHONE, serve.OTP)
    desk_api = api.login(DISPATCHER)
    first = _report(api, citizen, "光明路12号门口", (180, 60, 60))
    duplicate = _report(api, neighbour, "光明路12号对面", (60, 60, 180))

    with chromium() as desk:
        sign_in(desk, server.base, DISPATCHER)
        assert desk.current_url.endswith("/console/queue/new")
        row = desk.find_element(By.CSS_SELECTOR, f'tr[data-case="{duplicate}"]')
        assert desk.find_element(By.CSS_SELECTOR, f'tr[data-case="{first}"]')
        # The duplicate beside the first report, with photos and distance: merge it.
        click_and_wait(desk, row.find_element(By.CSS_SELECTOR, "a.case-link"))
        candidate = desk.find_element(By.CSS_SELECTOR, f'[data-candidate="{first}"]')
        assert "相距0米" in candidate.text
        assert candidate.find_elements(By.CSS_SELECTOR, "img.thumb")
        assert desk.find_elements(By.CSS_SELECTOR, ".compare-this img.thumb")
        click_and_wait(desk, candidate.find_element(By.CSS_SELECTOR, "button.merge-button"))
        assert desk.current_url.endswith(f"/console/cases/{first}")
        assert "已完成：合并" in body_text(desk)
        assert api.case(desk_api, duplicate)["state"] == "merged"
        # Accept it (立案), then dispatch to the routed department, pre-selected.
        click_and_wait(desk, desk.find_element(By.ID, "do-register"))
        menu = Select(desk.find_element(By.ID, "dispatch-department"))
        assert menu.first_selected_option.get_attribute("value") == HANDLER_DEPARTMENT
        click_and_wait(desk, desk.find_element(By.ID, "do-dispatch"))
        assert "环境卫生管理处" in desk.find_element(By.ID, "case-department").text

        # Days pass; the department has not acted: the case is overdue and gets a 督办 note.
        server.advance(days=4)
        desk.refresh()
        assert "超时" in body_text(desk)
        action_form(desk, "supervise").find_element(By.NAME, "note").send_keys("已超时，请今日处置")
        click_and_wait(desk, desk.find_element(By.ID, "do-supervise"))
        assert "已超时，请今日处置" in desk.find_element(By.ID, "supervisions").text

        with chromium() as dept:
            sign_in(dept, server.base, HANDLER)
            assert first in dept.find_element(By.ID, "case-list").get_attribute("innerHTML")
            dept.get(f"{server.base}/console/cases/{first}")
            box = dept.find_element(By.ID, "supervisions")
            box.find_element(By.NAME, "answer").send_keys("已安排清运车辆")
            click_and_wait(dept, box.find_element(By.CSS_SELECTOR, "button.answer-button"))
            click_and_wait(dept, dept.find_element(By.ID, "do-accept"))
            photo = tmp_path / "after.jpg"
            photo.write_bytes(_jpeg((60, 160, 60)))
            dept.find_element(By.ID, "handle-photo").send_keys(str(photo))
            action_form(dept, "handle").find_element(By.NAME, "note").send_keys("已清理完毕")
            click_and_wait(dept, dept.find_element(By.ID, "do-handle"))
            assert "处置完毕" in body_text(dept)
            assert dept.find_elements(By.CSS_SELECTOR, "img.thumb-after")
            # Another department's case is out of reach.
            other = _report(api, citizen, "光明路20号", (90, 90, 90))
            api.act(desk_api, other, "register")
            api.act(desk_api, other, "dispatch", department="MUNICIPAL")
            dept.get(f"{server.base}/console/cases/{other}")
            assert "案件不存在或无权查看" in body_text(dept)

        desk.refresh()
        assert "已安排清运车辆" in desk.find_element(By.ID, "supervisions").text
        click_and_wait(desk, desk.find_element(By.ID, "do-request_check"))
        desk.get(f"{server.base}/console/indicators")
        closed_before = _city_count(desk, "closed")

    # The grid's inspector checks on site through the API: passed, closed.
    inspector = api.login(INSPECTOR)
    check_photo = api.photo(inspector, _jpeg((60, 200, 200)))
    closed = api.act(inspector, first, "check", passed=True, photos=[check_photo])
    assert closed["state"] == "closed"
    with chromium() as desk:
        sign_in(desk, server.base, DISPATCHER)
        desk.get(f"{server.base}/console/cases/{first}")
        assert "已结案" in body_text(desk)
        actions = [
            e.get_attribute("data-action")
            for e in desk.find_elements(By.CSS_SELECTOR, "#timeline li")
        ]
        assert actions == [
            "report", "merge_in", "register", "dispatch", "supervise", "answer_supervision",
            "accept", "handle", "request_check", "check",
        ]  # fmt: skip
        # The indicators page shows the closing (the server's month, its clock moved on).
        desk.get(f"{server.base}/console/indicators")
        assert _city_count(desk, "closed") == closed_before + 1
        figure = desk.find_element(
            By.CSS_SELECTOR, '#city-figures [data-indicator="on_time_check"]'
        )
        assert "按时核查率 = 按时核查数 ÷" in figure.text
        assert desk.execute_script("return typeof Chart") == "function"  # the vendored library
        assert desk.find_elements(By.CSS_SELECTOR, "#chart-daily")


def test_two_dispatchers_on_one_case_cannot_overwrite_each_other(server):
    api = Api(server.base)
    citizen = api.login_phone(CITIZEN_PHONE, serve.OTP)
    desk_api = api.login(DISPATCHER)
    case_id = _report(api, citizen, "光明路8号", (120, 120, 40))
    api.act(desk_api, case_id, "register")
    page = f"{server.base}/console/cases/{case_id}"
    with chromium() as one, chromium() as two:
        sign_in(one, server.base, DISPATCHER)
        sign_in(two, server.base, DISPATCHER2)
        one.get(page)
        two.get(page)
        # The second chooses another unit while the first dispatches to the routed one.
        Select(two.find_element(By.ID, "dispatch-department")).select_by_value("MUNICIPAL")
        click_and_wait(one, one.find_element(By.ID, "do-dispatch"))
        click_and_wait(two, two.find_element(By.ID, "do-dispatch"))
        warning = two.find_element(By.ID, "action-error").text
        assert "此案件在您打开后已被他人修改" in warning
        assert "This case changed since you opened it" in warning
        # The fresh case is shown: dispatched by the first, to the first's choice.
        assert "环境卫生管理处" in two.find_element(By.ID, "case-department").text
        assert not two.find_elements(By.ID, "do-dispatch")
    case = api.case(desk_api, case_id)
    assert case["state"] == "dispatched" and case["department"]["code"] == HANDLER_DEPARTMENT
    timeline = api.http.get(f"{server.base}/api/cases/{case_id}/timeline", headers=desk_api)
    assert [e["action"] for e in timeline.json()].count("dispatch") == 1
    # The other department never got it.
    with chromium() as municipal:
        sign_in(municipal, server.base, MUNICIPAL_HANDLER)
        municipal.get(page)
        assert "案件不存在或无权查看" in body_text(municipal)


def test_citizens_cannot_sign_in_to_the_console(server):
    with chromium() as browser:
        sign_in(browser, server.base, CITIZEN_PHONE, serve.OTP)
        assert "用户名或密码错误" in browser.find_element(By.ID, "login-error").text
        sign_in(browser, server.base, INSPECTOR)
        assert "手机应用" in browser.find_element(By.ID, "login-error").text
        browser.get(f"{server.base}/console/queue/open")
        assert "/console/login" in browser.current_url
