"""Workflow actions from the console: the API's use cases and rules, the same version check,
and every refusal shown as a message with nothing written."""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.api.case_helpers import act, ok, report
from tests.console.helpers import case_action, console_client, page_token, text
from tests.factories import DISPATCHER, DISPATCHER2, HANDLER, HANDLER_DEPARTMENT


def _jpeg(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def _case(client, headers, cid):
    return ok(client.get(f"/api/cases/{cid}", headers=headers))


def _events(client, headers, cid) -> list[str]:
    return [e["action"] for e in ok(client.get(f"/api/cases/{cid}/timeline", headers=headers))]


def test_desk_and_department_work_a_case_from_the_console(app, client, city):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"], category_code="SJ0102"), 201)["case"]["id"]
    desk = console_client(app, DISPATCHER)
    page = text(desk.get(f"/console/cases/{cid}"))
    assert 'id="do-register"' in page and 'id="do-reject"' in page and "do-dispatch" not in page
    # Register, correcting the category to what the photo really shows.
    resp = case_action(desk, cid, "register", 1, category_code="SJ0101")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/console/cases/{cid}"
    assert "已完成：立案" in text(desk.get(resp.headers["Location"]))
    case = _case(client, d, cid)
    assert case["state"] == "registered" and case["category"]["code"] == "SJ0101"
    # Dispatch: the routed department is pre-selected in the form.
    page = text(desk.get(f"/console/cases/{cid}"))
    selected = re.search(
        r'<option value="([A-Z_]+)" selected>', page.split("dispatch-department")[1]
    )
    assert selected and selected.group(1) == case["routed_department"]["code"] == HANDLER_DEPARTMENT
    ok_resp = case_action(desk, cid, "dispatch", case["version"], department=HANDLER_DEPARTMENT)
    assert ok_resp.status_code == 303
    assert _case(client, d, cid)["state"] == "dispatched"

    handler = console_client(app, HANDLER)
    assert cid in text(handler.get("/console/queue/todo"))
    assert case_action(handler, cid, "accept", _case(client, d, cid)["version"]).status_code == 303
    version = _case(client, d, cid)["version"]
    handled = case_action(
        handler, cid, "handle", version, note="已清运", photo=(io.BytesIO(_jpeg()), "after.jpg")
    )
    assert handled.status_code == 303
    case = _case(client, d, cid)
    assert case["state"] == "handled" and [p["kind"] for p in case["photos"]] == ["after"]
    page = text(handler.get(f"/console/cases/{cid}"))
    thumb = re.search(r'src="(/console/photos/[0-9a-f]{64}/thumb)"', page)
    assert thumb and "已清运" in page
    with handler.get(thumb.group(1)) as img:
        assert img.status_code == 200 and img.mimetype == "image/jpeg"

    assert case_action(desk, cid, "request_check", case["version"]).status_code == 303
    assert _case(client, d, cid)["state"] == "checking"
    assert _events(client, d, cid) == [
        "report", "register", "dispatch", "accept", "handle", "request_check"
    ]  # fmt: skip


def test_a_stale_form_is_refused_in_both_languages_and_nothing_is_overwritten(app, client, city):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    first, second = console_client(app, DISPATCHER), console_client(app, DISPATCHER2)
    # Both open the new report; the first registers it, the second rejects it a moment later.
    assert case_action(first, cid, "register", 1).status_code == 303
    late = case_action(second, cid, "reject", 1, reason="不属于城管")
    assert late.status_code == 409 and "此案件在您打开后已被他人修改" in text(late)
    # The fresh page offers what is possible now, on the new version.
    assert 'id="do-dispatch"' in text(late) and 'name="version" value="2"' in text(late)
    assert _case(client, d, cid)["state"] == "registered"
    version = _case(client, d, cid)["version"]
    # Both have the page open at the same version; the first dispatches to the municipal unit.
    assert case_action(first, cid, "dispatch", version, department="MUNICIPAL").status_code == 303
    late = case_action(second, cid, "dispatch", version, department=HANDLER_DEPARTMENT)
    page = text(late)
    assert late.status_code == 409
    assert (
        "此案件在您打开后已被他人修改" in page and "This case changed since you opened it" in page
    )
    assert "市政设施管理处" in page.split('id="case-department">')[1][:40]  # the fresh case
    case = _case(client, d, cid)
    assert case["department"]["code"] == "MUNICIPAL" and case["version"] == version + 1
    assert _events(client, d, cid) == ["report", "register", "dispatch"]


def test_refusals_are_messages_and_write_nothing(app, client, city):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    desk = console_client(app, DISPATCHER)
    cases = [
        ("reject", {}, 422, "请填写原因"),
        ("reject", {"reason": "x" * 501}, 422, "reason"),
        ("register", {"category_code": "ZZ9999"}, 422, "未知的案件类别"),
        ("dispatch", {"department": "MUNICIPAL"}, 409, "无法执行“派遣”"),
        ("dispatch", {}, 422, "请选择责任单位"),
        ("merge", {"target": cid}, 422, "无法合并"),
        ("merge", {"target": "not-a-case"}, 422, "无法合并"),
    ]
    for action, data, status, message in cases:
        resp = case_action(desk, cid, action, 1, **data)
        assert resp.status_code == status, (action, data, resp.status_code)
        assert message in text(resp), (action, text(resp)[:200])
    no_version = desk.post(
        f"/console/cases/{cid}/act/register", data={"csrf_token": page_token(desk, "/console/map")}
    )
    assert no_version.status_code == 422 and "缺少案件版本" in text(no_version)
    assert case_action(desk, cid, "register", "abc").status_code == 422
    assert case_action(desk, cid, "fly", 1).status_code == 404
    assert case_action(desk, "no-such-case", "register", 1).status_code == 404
    case = _case(client, d, cid)
    assert case["state"] == "reported" and case["version"] == 1
    assert _events(client, d, cid) == ["report"]


def test_handling_needs_a_real_photo(app, client, city):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    for action in ("register", "dispatch"):
        ok(act(client, d, cid, action))
    ok(act(client, city["handler"], cid, "accept"))
    handler = console_client(app, HANDLER)
    version = _case(client, d, cid)["version"]
    missing = case_action(handler, cid, "handle", version, note="已处理")
    assert missing.status_code == 422 and "需要上传照片" in text(missing)
    fake = case_action(handler, cid, "handle", version, photo=(io.BytesIO(b"not a photo"), "x.jpg"))
    assert fake.status_code == 415 and "JPEG" in text(fake)
    assert _case(client, d, cid)["state"] == "handling"


def test_merging_a_duplicate_side_by_side(app, client, city):
    d = city["dispatcher"]
    first = ok(report(client, d, source="hotline", address="光明路口"), 201)["case"]["id"]
    dup = ok(report(client, city["citizen"], address="光明路12号"), 201)["case"]["id"]
    desk = console_client(app, DISPATCHER)
    page = text(desk.get(f"/console/cases/{dup}"))
    section = page.split('id="merge-candidates"')[1].split("</section>")[0]
    assert f'data-candidate="{first}"' in section and "相距0米" in section
    assert "本案" in section and "光明路口" in section
    resp = case_action(desk, dup, "merge", 1, target=first)
    assert resp.status_code == 303 and resp.headers["Location"] == f"/console/cases/{first}"
    assert _case(client, d, dup)["state"] == "merged"
    assert "merge_in" in _events(client, d, first)


def test_a_returned_case_is_rerouted_not_sent_back(app, client, city):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch"))  # the routed unit: sanitation
    ok(act(client, city["handler"], cid, "return", reason="井盖归市政管"))
    desk = console_client(app, DISPATCHER)
    page = text(desk.get(f"/console/cases/{cid}"))
    assert "环境卫生管理处回退：井盖归市政管" in page
    menu = page.split('id="dispatch-department"')[1].split("</select>")[0]
    assert '<option value="" selected>请选择责任单位</option>' in menu
    assert 'value="SANITATION" selected' not in menu
    version = _case(client, d, cid)["version"]
    unchosen = case_action(desk, cid, "dispatch", version)
    assert unchosen.status_code == 422 and "请选择责任单位" in text(unchosen)
    assert case_action(desk, cid, "dispatch", version, department="MUNICIPAL").status_code == 303
    case = _case(client, d, cid)
    assert case["state"] == "dispatched" and case["department"]["code"] == "MUNICIPAL"
