"""Queue pages: each role's lists, filters, search by number, address or text, keyset pages,
and bad filters answered with a message instead of an error."""

from __future__ import annotations

from tests.api.case_helpers import act, ok, report
from tests.console.helpers import console_client, text
from tests.factories import (
    DISPATCHER,
    HANDLER,
    HANDLER_DEPARTMENT,
    MUNICIPAL_HANDLER,
    OTHER_POINT,
)


def _rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('<tr data-case="')[1:]]


def test_new_reports_are_listed_for_the_desk(app, client, city):
    first = ok(report(client, city["citizen"], address="光明路12号门口"), 201)["case"]
    second = ok(report(client, city["dispatcher"], source="hotline"), 201)["case"]
    desk = console_client(app, DISPATCHER)
    page = text(desk.get("/console/queue/new"))
    # Same deadline (one clock): ties are broken by id, as the keyset pages are.
    assert _rows(page) == sorted([first["id"], second["id"]])
    assert first["id"][:8] in page and "暴露垃圾" in page and "光明路12号门口" in page
    assert _rows(text(desk.get("/console/queue/dispatch"))) == []


def test_filters_narrow_the_list_and_bad_ones_get_a_message(app, client, city):
    here = ok(report(client, city["citizen"]), 201)["case"]
    lat, lon = OTHER_POINT
    there = ok(report(client, city["dispatcher"], lat=lat, lon=lon, category_code="BJ0101",
                      source="hotline"), 201)["case"]  # fmt: skip
    desk = console_client(app, DISPATCHER)
    assert _rows(text(desk.get("/console/queue/open?category=BJ0101"))) == [there["id"]]
    assert _rows(text(desk.get(f"/console/queue/open?grid={here['grid_code']}"))) == [here["id"]]
    assert _rows(text(desk.get("/console/queue/open?source=hotline"))) == [there["id"]]
    assert _rows(text(desk.get("/console/queue/open?light=green"))) != []
    assert _rows(text(desk.get("/console/queue/open?department=SANITATION"))) == []
    for bad in (
        "light=purple",
        "source=fax",
        "limit=0",
        "limit=x",
        "after=@@@",
        "grid=" + "9" * 40,
    ):
        resp = desk.get(f"/console/queue/open?{bad}")
        assert resp.status_code == 422, bad
        assert "部分字段填写有误" in text(resp) or "分页游标无效" in text(resp)


def test_search_by_number_address_or_text(app, client, city):
    a = ok(
        report(client, city["citizen"], address="建设路88号", description="绿化带里有建筑垃圾"), 201
    )
    b = ok(report(client, city["dispatcher"], source="hotline", address="中兴路5号"), 201)
    a_id, b_id = a["case"]["id"], b["case"]["id"]
    ok(act(client, city["dispatcher"], b_id, "reject", reason="重复来电"))
    desk = console_client(app, DISPATCHER)
    assert _rows(text(desk.get("/console/queue/open?q=建设路"))) == [a_id]
    assert _rows(text(desk.get("/console/queue/open?q=建筑垃圾"))) == [a_id]
    # By number: a rejected case is found too, by its short number or its whole id.
    assert _rows(text(desk.get(f"/console/queue/open?q={b_id[:8]}"))) == [b_id]
    assert _rows(text(desk.get(f"/console/queue/open?q={b_id}"))) == [b_id]
    assert _rows(text(desk.get("/console/queue/open?q=%25"))) == []  # % is a character here
    assert "没有符合条件的案件" in text(desk.get("/console/queue/open?q=不存在的地址"))


def test_pages_follow_the_cursor_without_repeats(app, client, city):
    ids = {ok(report(client, city["citizen"]), 201)["case"]["id"] for _ in range(5)}
    desk = console_client(app, DISPATCHER)
    seen: list[str] = []
    url = "/console/queue/new?limit=20&source=citizen"
    page = text(desk.get(url.replace("20", "2")))
    while True:
        seen += _rows(page)
        if 'id="next-page"' not in page:
            break
        nxt = page.split('id="next-page" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert "source=citizen" in nxt and "limit=2" in nxt  # filters are kept
        page = text(desk.get(nxt))
        assert "第一页" in page
    assert len(seen) == 5 and set(seen) == ids


def test_handlers_see_only_their_departments_cases(app, client, city):
    d = city["dispatcher"]
    mine = ok(report(client, city["citizen"]), 201)["case"]["id"]
    theirs = ok(report(client, d, source="hotline", category_code="BJ0101"), 201)["case"]["id"]
    for cid, dept in ((mine, HANDLER_DEPARTMENT), (theirs, "MUNICIPAL")):
        ok(act(client, d, cid, "register"))
        ok(act(client, d, cid, "dispatch", department=dept))
    handler = console_client(app, HANDLER)
    assert _rows(text(handler.get("/console/queue/todo"))) == [mine]
    assert _rows(text(handler.get("/console/queue/open"))) == [mine]
    assert _rows(text(handler.get(f"/console/queue/open?q={theirs[:8]}"))) == []
    other = console_client(app, MUNICIPAL_HANDLER)
    assert _rows(text(other.get("/console/queue/todo"))) == [theirs]


def test_the_overdue_list_shows_how_late(app, client, city, clock):
    cid = ok(report(client, city["citizen"]), 201)["case"]["id"]
    desk = console_client(app, DISPATCHER)
    assert _rows(text(desk.get("/console/queue/overdue"))) == []
    clock.advance(days=2)
    page = text(desk.get("/console/queue/overdue"))
    assert _rows(page) == [cid] and "超时" in page and "红灯" in page
