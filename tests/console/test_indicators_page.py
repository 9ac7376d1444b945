"""The indicators page: the same figures as the API with each formula beside it, charts for
the desk from a JSON block, and a department seeing only its own row."""

from __future__ import annotations

import json
import re

from tests.api.case_helpers import act, ok, report
from tests.console.helpers import console_client, text
from tests.factories import DISPATCHER, HANDLER, HANDLER_DEPARTMENT


def _figure(page: str, key: str) -> str:
    card = page.split(f'<div class="figure card" data-indicator="{key}">')[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card.split("</div>\n  </div>")[0]))


def test_figures_come_with_their_formulas_and_move_with_the_work(app, client, city):
    desk = console_client(app, DISPATCHER)
    before = text(desk.get("/console/indicators"))
    figure = _figure(before, "valid_registration")
    assert "有效立案率 = 立案数 ÷ (立案数 + 不予立案数) × 100%" in figure
    assert "—" in figure and "无案件" in figure  # nothing decided yet: no rate, not 0 %
    d = city["dispatcher"]
    kept = ok(report(client, city["citizen"]), 201)["case"]["id"]
    dropped = ok(report(client, d, source="hotline", address="中兴路1号"), 201)["case"]["id"]
    ok(act(client, d, kept, "register"))
    ok(act(client, d, dropped, "reject", reason="非城管职责"))
    after = _figure(text(desk.get("/console/indicators")), "valid_registration")
    assert "50.00" in after and "1 / 2" in after
    api = ok(client.get("/api/indicators", headers=d))["rows"][0]["figures"]
    assert api["valid_registration"] == {"value": 50.0, "numerator": 1, "denominator": 2}


def test_the_desk_gets_charts_and_breakdowns(app, client, city):
    ok(report(client, city["citizen"]), 201)
    desk = console_client(app, DISPATCHER)
    page = text(desk.get("/console/indicators?dimension=department"))
    data = json.loads(
        page.split('<script type="application/json" id="chart-data">')[1].split("</script>")[0]
    )
    assert sum(sum(s["data"]) for s in data["daily"]["series"]) == 1
    assert data["lights"]["city"] == [0, 0, 1]  # one green open case
    assert "按时处置率" in [s["label"] for s in data["departments"]["series"]]
    assert f'data-row="{HANDLER_DEPARTMENT}"' in page
    assert "/console/static/vendor/chart-4.6.1.umd.min.js" in page
    with desk.get("/console/static/vendor/chart-4.6.1.umd.min.js") as js:
        assert js.status_code == 200 and b"Chart.js v4.6.1" in js.data[:200]
    english = console_client(app, DISPATCHER)
    english.get("/console/language/en")
    page = text(english.get("/console/indicators"))
    assert "valid registration rate = registered ÷ (registered + rejected) × 100%" in page
    for bad in ("month=2026-13", "month=x", "from=2026-11-01", "dimension=planet"):
        resp = desk.get(f"/console/indicators?{bad}")
        assert resp.status_code == 422, bad


def test_a_department_sees_the_city_and_its_own_row_only(app, client, city):
    handler = console_client(app, HANDLER)
    page = text(handler.get("/console/indicators?dimension=department"))
    assert 'id="chart-data"' not in page
    rows = re.findall(r'<tr data-row="([^"]+)">', page)
    assert rows == [HANDLER_DEPARTMENT]
    grid = text(handler.get("/console/indicators?dimension=grid"))  # not theirs: the city
    assert re.findall(r'<tr data-row="([^"]+)">', grid) == ["city"]


def test_a_long_breakdown_is_paged_and_the_pages_keep_the_filters(app, client, city, monkeypatch):
    from server.console import indicators as page_module

    monkeypatch.setattr(page_module, "ROWS_PER_PAGE", 2)
    desk = console_client(app, DISPATCHER)
    every = ok(client.get("/api/indicators?dimension=department", headers=city["dispatcher"]))
    keys = [r["key"] for r in every["rows"]]
    assert len(keys) >= 3  # more than one page
    seen, path, pages = [], "/console/indicators?dimension=department&month=2026-11", 0
    while path:
        html = text(desk.get(path))
        rows = re.findall(r'<tr data-row="([^"]+)"', html)
        assert 1 <= len(rows) <= 2
        seen += rows
        pages += 1
        assert f"第{pages}/" in html
        nxt = re.search(r'id="table-next" href="([^"]+)"', html)
        path = nxt.group(1).replace("&amp;", "&") if nxt else None
        if path:
            assert "dimension=department" in path and "month=2026-11" in path
    assert seen == keys and pages == -(-len(keys) // 2)
    assert 'id="table-prev"' in html and "table-next" not in html
    short = text(desk.get("/console/indicators?dimension=department&page=999"))  # the last
    assert re.findall(r'<tr data-row="([^"]+)"', short) == keys[-(len(keys) % 2 or 2) :]
    for bad in ("page=0", "page=x", "page=-1"):
        assert desk.get(f"/console/indicators?{bad}").status_code == 422, bad
    assert "table-pager" not in text(desk.get("/console/indicators"))  # the city: one row
