"""督办: the desk supervises overdue cases, the department sees and answers the note, and the
desk sees how many supervised cases each unit has."""

from __future__ import annotations

from sqlalchemy import select

from server.db import database
from server.models import Supervision, User
from tests.api.case_helpers import act, ok, report
from tests.console.helpers import console_client, post_form, text
from tests.factories import (
    DISPATCHER,
    HANDLER,
    HANDLER_DEPARTMENT,
    MUNICIPAL_DEPARTMENT,
    MUNICIPAL_HANDLER,
    login,
)


def overdue_case(client, city, clock):
    """A case dispatched to the sanitation department three days ago (overdue now)."""
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch", department=HANDLER_DEPARTMENT))
    clock.advance(days=3)
    return cid


def test_supervise_an_overdue_case_and_the_department_answers(app, client, city, clock):
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch", department=HANDLER_DEPARTMENT))
    desk = console_client(app, DISPATCHER)
    page = f"/console/cases/{cid}"
    assert "do-supervise" not in text(desk.get(page))  # not overdue yet: no form
    early = post_form(desk, f"{page}/supervise", page, note="请尽快处置")
    assert early.status_code == 409 and "只能督办已超时的案件" in text(early)

    clock.advance(days=3)
    assert "do-supervise" in text(desk.get(page))
    empty = post_form(desk, f"{page}/supervise", page, note="  ")
    assert empty.status_code == 422
    long = post_form(desk, f"{page}/supervise", page, note="催" * 2001)
    assert long.status_code == 422 and "内容过长" in text(long)
    done = post_form(desk, f"{page}/supervise", page, note="已超时两天，请今日处置完毕")
    assert done.status_code == 303
    assert cid in text(desk.get("/console/queue/supervised"))

    counts = text(desk.get("/console/supervision")).split('id="supervision-counts"')[1]
    row = counts.split(f'data-department="{HANDLER_DEPARTMENT}"')[1].split("</tr>")[0]
    # notes, cases, unanswered, answered, re-dispatched — this month's (the charts' count)
    assert [c.split("<")[0] for c in row.split('class="num">')[1:]] == ["1", "1", "1", "0", "0"]

    handler = console_client(app, HANDLER)
    listing = text(handler.get("/console/supervision"))
    assert "已超时两天，请今日处置完毕" in listing and "answer-button" in listing
    sup_id = listing.split('data-supervision="')[1].split('"')[0]
    answer = f"/console/supervisions/{sup_id}/answer"
    blank = post_form(handler, answer, "/console/supervision", answer="")
    assert blank.status_code == 303
    assert "请填写原因" in text(handler.get(blank.headers["Location"]))
    ok_resp = post_form(handler, answer, "/console/supervision", answer="已安排人员，今日完成")
    assert ok_resp.status_code == 303
    # The desk cannot answer for the department; the answer shows on the case for everyone.
    again = post_form(desk, answer, "/console/supervision", answer="代答")
    assert "您无权执行此操作" in text(desk.get(again.headers["Location"]))
    case_page = text(desk.get(page))
    assert "已安排人员，今日完成" in case_page
    counts = text(desk.get("/console/supervision?all=1")).split('id="supervision-counts"')[1]
    row = counts.split(f'data-department="{HANDLER_DEPARTMENT}"')[1].split("</tr>")[0]
    assert [c.split("<")[0] for c in row.split('class="num">')[1:]] == ["1", "1", "0", "1", "0"]
    other_month = text(desk.get("/console/supervision?month=2026-10"))
    assert f'data-department="{HANDLER_DEPARTMENT}"' not in other_month
    assert desk.get("/console/supervision?month=2026-13").status_code == 422
    # The month chosen stays chosen when the desk switches between open and all notes.
    assert 'href="/console/supervision?all=1&amp;month=2026-10"' in other_month
    switched = text(desk.get("/console/supervision?all=1&month=2026-10"))
    assert 'href="/console/supervision?month=2026-10"' in switched
    assert '<input type="hidden" name="all" value="1">' in switched
    timeline = ok(client.get(f"/api/cases/{cid}/timeline", headers=d))
    assert [e["action"] for e in timeline][-2:] == ["supervise", "answer_supervision"]


def test_another_department_cannot_see_or_answer_the_note(app, client, city, clock):
    d, cid = city["dispatcher"], overdue_case(client, city, clock)
    sup = ok(client.post(f"/api/cases/{cid}/supervisions", json={"note": "催办"}, headers=d), 201)
    other = console_client(app, "handler_municipal")
    assert "催办" not in text(other.get("/console/supervision"))
    resp = post_form(
        other, f"/console/supervisions/{sup['id']}/answer", "/console/supervision", answer="x"
    )
    assert "未找到" in text(other.get(resp.headers["Location"]))
    assert (
        ok(client.get("/api/supervisions", headers=city["handler"]))["items"][0]["answer"] is None
    )


def test_a_redispatched_case_takes_its_notes_from_the_old_department(app, client, city, clock):
    d, cid = city["dispatcher"], overdue_case(client, city, clock)
    d, h = login(client, DISPATCHER), login(client, HANDLER)
    first, second = (
        ok(client.post(f"/api/cases/{cid}/supervisions", json={"note": n}, headers=d), 201)
        for n in ("请今日办结", "市民再次来电催办")
    )
    answer = {"answer": "人手不足"}
    ok(client.post(f"/api/supervisions/{first['id']}/answer", json=answer, headers=h))
    ok(act(client, h, cid, "return", reason="不属本单位"))
    ok(act(client, d, cid, "dispatch", department=MUNICIPAL_DEPARTMENT))

    old = console_client(app, HANDLER)
    listing = text(old.get("/console/supervision?all=1"))
    assert "请今日办结" not in listing and "市民再次来电催办" not in listing
    assert old.get(f"/console/cases/{cid}").status_code == 404
    refused = post_form(
        old, f"/console/supervisions/{second['id']}/answer", "/console/supervision", answer="好"
    )
    assert "未找到" in text(old.get(refused.headers["Location"]))

    new = console_client(app, MUNICIPAL_HANDLER)
    assert "市民再次来电催办" not in text(new.get("/console/supervision?all=1"))
    page = text(new.get(f"/console/cases/{cid}"))
    notes = page.split('id="supervisions"')[1].split("</section>")[0]
    # the desk's earlier notes, to whom they went, answered or not; not the old unit's answer
    assert "请今日办结" in notes and "市民再次来电催办" in notes and "此前督办" in notes
    assert "人手不足" not in page and "answer-button" not in notes
    refused = post_form(
        new, f"/console/supervisions/{second['id']}/answer", f"/console/cases/{cid}", answer="好"
    )
    assert "未找到" in text(new.get(refused.headers["Location"]))
    # the second note is nobody's to answer now: "re-dispatched" on the new unit's case page
    assert notes.count('data-status="superseded"') == 1 and "已改派" in notes
    desk = console_client(app, DISPATCHER)
    desk_page = text(desk.get(f"/console/cases/{cid}"))
    assert "人手不足" in desk_page and "回复前案件已离开该单位" in desk_page
    assert "等待责任单位回复" not in desk_page
    # ...and on the desk's list: not awaiting an answer, not counted as unanswered
    awaiting = text(desk.get("/console/supervision"))
    assert "市民再次来电催办" not in awaiting and "请今日办结" not in awaiting
    everything = text(desk.get("/console/supervision?all=1"))
    listed = everything.split(f'data-supervision="{second["id"]}"')[1].split("</section>")[0]
    assert 'data-status="superseded"' in listed and "回复前案件已离开该单位" in listed
    assert "answer-button" not in listed and "等待责任单位回复" not in listed
    counts = everything.split('id="supervision-counts"')[1]
    row = counts.split(f'data-department="{HANDLER_DEPARTMENT}"')[1].split("</tr>")[0]
    # notes, cases, unanswered, answered, re-dispatched
    assert [c.split("<")[0] for c in row.split('class="num">')[1:]] == ["2", "1", "0", "1", "1"]
    statuses = ok(client.get("/api/supervisions?open=false", headers=d))["items"]
    assert [(n["id"], n["status"]) for n in statuses] == [
        (first["id"], "answered"),
        (second["id"], "superseded"),  # and nothing was written for the refused answers
    ]


def test_a_case_overdue_before_dispatch_is_dispatched_not_supervised(app, client, city, clock):
    """The desk's own late step (派遣) is not 督办'd: the page says to dispatch first, the form
    is refused like the API, and a note written to no unit before that rule awaits nothing."""
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    clock.advance(days=3)
    desk = console_client(app, DISPATCHER)
    page = f"/console/cases/{cid}"
    shown = text(desk.get(page))
    assert "do-supervise" not in shown and 'id="supervise-after-dispatch"' in shown
    refused = post_form(desk, f"{page}/supervise", page, note="请尽快处置")
    assert refused.status_code == 409 and "请先派遣" in text(refused)
    assert cid not in text(desk.get("/console/queue/supervised"))

    with database(app).session() as s:
        by = s.scalar(select(User.id).where(User.username == DISPATCHER))
        s.add(
            Supervision(
                case_id=cid, department_id=None, by_id=by, note="旧督办", created_at=clock()
            )
        )
        s.commit()
    note = text(desk.get(page)).split('id="supervisions"')[1]
    assert 'data-status="superseded"' in note and "没有承办单位，此督办无需回复" in note
    assert "旧督办" not in text(desk.get("/console/supervision"))  # awaiting: none
    listed = text(desk.get("/console/supervision?all=1"))
    assert "旧督办" in listed and "没有承办单位，此督办无需回复" in listed
    handler = console_client(app, HANDLER)
    ok(act(client, d, cid, "dispatch", department=HANDLER_DEPARTMENT))
    assert "旧督办" not in text(handler.get("/console/supervision?all=1"))


def test_a_returned_case_is_dispatched_again_not_supervised(app, client, city, clock):
    """Returned to the desk (回退), a case is the desk's to dispatch again: the page says so
    instead of offering the 督办 form, a post is refused like the API, and the unit's note
    shows as one nobody is to answer, without an answer form for the unit."""
    d = city["dispatcher"]
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    ok(act(client, d, cid, "register"))
    ok(act(client, d, cid, "dispatch", department=HANDLER_DEPARTMENT))
    clock.advance(days=3)
    desk = console_client(app, DISPATCHER)
    page = f"/console/cases/{cid}"
    post_form(desk, f"{page}/supervise", page, note="请今日办结")
    ok(act(client, login(client, HANDLER), cid, "return", reason="不属本单位"))
    clock.advance(days=3)
    desk = console_client(app, DISPATCHER)
    shown = text(desk.get(page))
    assert "do-supervise" not in shown and 'id="supervise-after-redispatch"' in shown
    assert "请重新派遣后再督办" in shown
    refused = post_form(desk, f"{page}/supervise", page, note="请尽快处置")
    assert refused.status_code == 409 and "请重新派遣" in text(refused)
    note = text(desk.get(page)).split('id="supervisions"')[1]
    assert 'data-status="superseded"' in note and "回复前案件已离开该单位" in note
    handler = console_client(app, HANDLER)
    assert "请今日办结" not in text(handler.get("/console/supervision?all=1"))
