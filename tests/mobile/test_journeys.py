"""Every journey of the app's logic against the real server (a thread), with the network cut
and restored by unplugging a TCP relay: no window, no mocks of the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobile.logic.core import Core
from mobile.logic.errors import FormInvalid, ServerRefused
from mobile.logic.location import PinMap, from_gps
from mobile.logic.report_form import ReportForm
from mobile.logic.session import home_for
from tests.factories import DEMO_PASSWORD, INSPECTOR, INSPECTOR_POINT, OUTSIDE_POINT

from .conftest import make_core
from .helpers import OTP, Cable, Desk, new_phone, photo_file, wait_for


def sync_until(core: Core, check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """Tick the loop like the app's timer does until ``check()`` holds."""

    def step():  # type: ignore[no-untyped-def]
        core.tick()
        return check()

    return wait_for(step, timeout)


def synced_once(core: Core) -> None:
    """A sync on demand, and the ones the scheduler brings forward until the server has
    decided what it received (deferred pushes: their outcomes come with a later sync)."""
    before = core.state.last_success_at
    core.sync_now()
    sync_until(core, lambda: core.state.last_success_at != before and not core.state.syncing)
    sync_until(core, lambda: core.state.sent == 0 and not core.state.syncing)


def citizen(core: Core) -> str:
    phone = new_phone()
    assert core.request_code(phone) >= 0
    account = core.sign_in_phone(phone, OTP)
    assert account.role == "citizen" and core.home() == "citizen_home"
    return phone


def report(core: Core, folder: Path, point: tuple[float, float], category: str = "SJ0101",
           seed: int = 1) -> str:  # fmt: skip
    stored = core.add_photo(photo_file(folder, seed))
    form = ReportForm(photos=[stored.sha256], location=from_gps(*point, 10.0),
                      category_code=category, description="路边有垃圾堆")  # fmt: skip
    return core.submit_report(form, {stored.sha256: stored})


# ------------------------------------------------------------------ sign-in


def test_sign_in_both_kinds_and_the_role_decides_home(core: Core, tmp_path: Path) -> None:
    with pytest.raises(FormInvalid) as info:
        core.sign_in_phone("12345", "")
    assert info.value.fields == {"phone": "signin.bad_phone", "code": "signin.bad_code"}
    with pytest.raises(ServerRefused) as refused:
        core.sign_in_phone(new_phone(), "000000")
    assert refused.value.code == "otp_invalid" and "验证码" in (refused.value.message_zh or "")
    with pytest.raises(ServerRefused) as refused:
        core.sign_in_staff(INSPECTOR, "wrong")
    assert refused.value.code == "bad_credentials"
    account = core.sign_in_staff(INSPECTOR, DEMO_PASSWORD)
    assert account.role == "inspector" and core.home() == "patrol"
    assert home_for("merchant") == "citizen_home" and home_for("dispatcher") == "citizen_home"
    core.io.submit(core.sign_out).result(10)
    assert core.account is None and core.home() == "signin"
    # the session survives a restart of the app
    citizen(core)
    again = Core(core.folder)
    assert again.account is not None and again.account.role == "citizen"
    again.close()


def test_an_expired_token_is_refreshed_during_sync(core: Core, desk: Desk) -> None:
    citizen(core)
    old = core.session.require().access_token
    core.session.refresh()  # the server rotates the pair: what the device held stops working
    fresh = core.session.require().access_token
    device = core.require_device()
    # the transports still hold the token of the rotation before: the sync must recover
    device.transport.inner.http.headers["Authorization"] = f"Bearer {old}"
    synced_once(core)
    assert core.state.online and not core.state.signed_out
    assert core.session.require().access_token not in (old, fresh)


# ------------------------------------------------------------------ citizen: report offline


def test_a_citizen_reports_offline_and_sees_it_through(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path
) -> None:
    citizen(core)
    synced_once(core)
    assert core.catalogue().find("摆摊")[0].code == "SJ0501"  # the synced catalogue
    cable.cut()
    case_id = report(core, tmp_path, INSPECTOR_POINT)
    sync_until(core, lambda: core.state.online is False)
    rows = core.my_reports().rows()
    assert [(r.id, r.state) for r in rows] == [(case_id, "waiting")]
    assert core.state.waiting == 1
    cable.plug()  # the network is back: the offline probe notices and the report goes out
    sync_until(core, lambda: core.state.online and core.state.waiting == core.state.sent == 0)
    row = core.my_reports().get(case_id)
    assert row is not None and row.state == "reported" and row.deadline is not None
    staff_view = desk.case("dispatcher1", case_id)
    assert staff_view["state"] == "reported" and len(staff_view["photos"]) == 1
    # the command centre moves it on; the phone learns it from the next pull
    desk.act("dispatcher1", case_id, "register")
    synced_once(core)
    assert core.my_reports().get(case_id).state == "registered"  # type: ignore[union-attr]
    timeline = core.my_reports().fetch_timeline(core.session.api(), case_id)
    assert [e.action for e in timeline.entries] == ["report", "register"]
    assert timeline.entries[0].by_zh == "您"
    cable.cut()  # the timeline stays readable offline
    assert [e.action for e in core.my_reports().cached_timeline(case_id).entries] == [
        "report", "register"]  # fmt: skip


def test_same_problem_suggestions_and_joining(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path, server: str
) -> None:
    first = desk.report("inspector1", INSPECTOR_POINT, "SJ0202")
    citizen(core)
    mine = report(core, tmp_path, INSPECTOR_POINT, "SJ0202", seed=5)
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and core.state.online)
    row = core.my_reports().get(mine)
    assert row is not None and row.same_problem == (first,) and row.can_join()
    core.my_reports().join(mine, first)
    core.record_done()
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and not core.state.syncing)
    synced_once(core)
    reports = {r.id: r for r in core.my_reports().rows()}
    assert reports[mine].state == "merged" and reports[mine].merged_into == first
    assert first in reports  # the reporter now follows the case theirs joined


def test_rating_and_reopening_a_closed_case(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path
) -> None:
    phone = citizen(core)
    del phone
    case_id = report(core, tmp_path, INSPECTOR_POINT, "SJ0101", seed=7)
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and core.state.online)
    close_case(desk, case_id)
    synced_once(core)
    row = core.my_reports().get(case_id)
    assert row is not None and row.state == "closed" and row.can_rate(core.clock())
    with pytest.raises(FormInvalid):
        core.my_reports().rate(case_id, 0)
    cable.cut()
    core.my_reports().rate(case_id, 4, "处理及时")
    row = core.my_reports().get(case_id)
    assert row is not None and not row.can_rate(core.clock()) and "rate_case.v1" in row.pending
    cable.plug()
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and core.state.online)
    synced_once(core)
    assert core.my_reports().get(case_id).rating == 4  # type: ignore[union-attr]
    with pytest.raises(FormInvalid):
        core.my_reports().reopen(case_id, "  ")
    core.my_reports().reopen(case_id, "垃圾又堆起来了")
    core.record_done()
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and not core.state.syncing)
    synced_once(core)
    assert core.my_reports().get(case_id).state == "rework"  # type: ignore[union-attr]


def close_case(desk: Desk, case_id: str, check: bool = True) -> None:
    """The desk and the department take a case to 'checking' (and the check to 'closed')."""
    from .helpers import photo_bytes

    desk.act("dispatcher1", case_id, "register")
    desk.act("dispatcher1", case_id, "dispatch")
    desk.act("handler_sanitation", case_id, "accept")
    sha = desk.upload_photo("handler_sanitation", photo_bytes(300 + len(case_id) % 50))
    desk.act("handler_sanitation", case_id, "handle", photos=[sha], note="已清理")
    desk.act("dispatcher1", case_id, "request_check")
    if check:
        sha = desk.upload_photo("inspector1", photo_bytes(400 + len(case_id) % 50))
        desk.act("inspector1", case_id, "check", passed=True, photos=[sha])


# ------------------------------------------------------------------ needs attention


def test_a_refused_report_is_kept_fixed_and_resent(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path
) -> None:
    citizen(core)
    case_id = report(core, tmp_path, OUTSIDE_POINT, "SJ0101", seed=11)
    sync_until(core, lambda: core.state.attention == 1 and not core.state.syncing)
    [item] = core.attention()
    assert item.code == "outside_city" and "网格" in item.message_zh
    assert core.my_reports().get(case_id) is not None  # still shown, never silently dropped
    core.resend(item.seq, {"lat": INSPECTOR_POINT[0], "lon": INSPECTOR_POINT[1],
                           "description": "位置已更正"})  # fmt: skip
    sync_until(core, lambda: core.state.attention == core.state.waiting == core.state.sent == 0
               and not core.state.syncing)  # fmt: skip
    assert desk.case("dispatcher1", case_id)["description"] == "位置已更正"
    # and one the user gives up
    other = report(core, tmp_path, OUTSIDE_POINT, "SJ0101", seed=12)
    sync_until(core, lambda: core.state.attention == 1 and not core.state.syncing)
    core.discard(core.attention()[0].seq)
    assert core.state.attention == 0 and core.my_reports().get(other) is None


# ------------------------------------------------------------------ inspector: patrol


def inspector(core: Core) -> None:
    core.sign_in_staff(INSPECTOR, DEMO_PASSWORD)
    assert core.home() == "patrol"


def test_quick_collection_needs_photo_kind_and_place(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path
) -> None:
    inspector(core)
    patrol = core.patrol()
    with pytest.raises(FormInvalid) as info:
        patrol.quick_collect(None, None, None)
    assert set(info.value.fields) == {"photos", "category_code", "location"}
    cable.cut()
    stored = core.add_photo(photo_file(tmp_path, 21))
    core.queue_photos([stored])
    here = PinMap(*INSPECTOR_POINT).pin(10, 10)
    case_id = patrol.quick_collect(stored.sha256, "SJ0501", here)
    core.record_done()
    assert core.state.waiting == 1
    cable.plug()
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and core.state.online)
    seen = desk.case("dispatcher1", case_id)
    assert seen["source"] == "inspector" and seen["category"]["code"] == "SJ0501"


def test_verify_and_check_tasks_done_offline(
    core: Core, cable: Cable, desk: Desk, tmp_path: Path
) -> None:
    near = desk.report("citizen" if False else "inspector1", INSPECTOR_POINT, "SJ0101", 501)
    far_point = (INSPECTOR_POINT[0] + 0.001, INSPECTOR_POINT[1])
    to_verify = [citizen_report(desk, p, 600 + i) for i, p in enumerate([far_point,
                 INSPECTOR_POINT])]  # fmt: skip
    for case_id in to_verify:
        desk.act("dispatcher1", case_id, "request_verify")
    close_case(desk, near, check=False)  # near is now a check task
    inspector(core)
    synced_once(core)
    here = from_gps(*INSPECTOR_POINT)
    tasks = core.patrol().tasks(here)
    mine = {t.case_id: t for t in tasks}
    assert set(to_verify) | {near} <= set(mine)
    assert mine[near].kind == "check" and mine[to_verify[0]].kind == "verify"
    ordered = [t.case_id for t in tasks if t.case_id in mine]
    assert ordered.index(to_verify[1]) < ordered.index(to_verify[0])  # nearer first
    by_deadline = core.patrol().tasks(here, order="deadline")
    deadlines = [t.deadline for t in by_deadline if t.deadline]
    assert deadlines == sorted(deadlines)
    assert all(t.light in ("green", "yellow", "red") for t in tasks)

    cable.cut()
    shas = []
    for seed in (31, 32, 33):
        stored = core.add_photo(photo_file(tmp_path, seed))
        core.queue_photos([stored])
        shas.append(stored.sha256)
    patrol = core.patrol()
    with pytest.raises(FormInvalid):
        patrol.check(mine[near], passed=False, photos=[shas[0]], note="")
    patrol.verify(mine[to_verify[1]], confirmed=True, photos=[shas[0]], note="确有垃圾")
    patrol.verify(mine[to_verify[0]], confirmed=False, photos=[shas[1]], note="现场无此问题")
    patrol.check(mine[near], passed=True, photos=[shas[2]], note="已清理干净")
    core.record_done()
    done = {t.case_id: t.done_offline for t in core.patrol().tasks(here)}
    assert done[near] and done[to_verify[0]] and done[to_verify[1]]
    assert core.state.waiting == 3
    cable.plug()
    sync_until(core, lambda: core.state.waiting == core.state.sent == 0 and core.state.online)
    synced_once(core)
    assert desk.case("dispatcher1", near)["state"] == "closed"
    verified = desk.case("dispatcher1", to_verify[1])
    assert verified["state"] == "reported" and verified["verified"] is True
    assert desk.case("dispatcher1", to_verify[0])["verified"] is False
    left = {t.case_id for t in core.patrol().tasks(here)}
    assert not left & ({near} | set(to_verify))


def citizen_report(desk: Desk, point: tuple[float, float], seed: int) -> str:
    """A citizen's report filed over REST (a new phone each time)."""
    import requests

    phone = new_phone()
    requests.post(f"{desk.base}/api/auth/otp", json={"phone": phone}, timeout=10)
    tokens = requests.post(f"{desk.base}/api/auth/otp/verify", json={
        "phone": phone, "code": OTP, "device_id": f"web-{phone}"}, timeout=10).json()  # fmt: skip
    import hashlib
    import uuid

    from .helpers import photo_bytes

    data = photo_bytes(seed)
    sha = hashlib.sha256(data).hexdigest()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    requests.put(f"{desk.base}/api/photos/{sha}", data=data,
                 headers={**headers, "Content-Type": "image/png"}, timeout=10)  # fmt: skip
    case_id = str(uuid.uuid4())
    r = requests.post(f"{desk.base}/api/cases", json={"id": case_id, "category_code": "SJ0101",
                      "lat": point[0], "lon": point[1], "photos": [sha]}, headers=headers,
                      timeout=10)  # fmt: skip
    assert r.status_code == 201, r.text
    return case_id


def test_a_second_user_on_the_same_phone_sees_nothing_of_the_first(
    core: Core, tmp_path: Path, cable: Cable
) -> None:
    citizen(core)
    mine = report(core, tmp_path, INSPECTOR_POINT, seed=41)
    core.io.submit(core.sign_out).result(10)
    citizen(core)
    assert mine not in {r.id for r in core.my_reports().rows()}
    other = make_core(tmp_path / "phone2", cable.url)
    other.close()
