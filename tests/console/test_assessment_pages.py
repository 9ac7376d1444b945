"""The monthly assessment in the console: the office enters, publishes and withdraws; every
unit reads the published bulletin, prints it and downloads it as .xlsx; drafts stay the
office's; bad entries are messages."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from tests.console.helpers import console_client, post_form, text
from tests.factories import ADMIN, DISPATCHER, HANDLER

MONTH = "2026-10"  # over by the test clock (2026-11-16), so it can be published
PAGE = f"/console/assessment/{MONTH}"


def _departments(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="department" value="([A-Z_]+)">', page)


def _scores(page: str, special: str = "90") -> dict[str, object]:
    codes = _departments(page)
    form: dict[str, object] = {"department": codes}
    for i, _ in enumerate(codes):
        form.update({f"special-{i}": special, f"zongzhi-{i}": "100", f"wenming-{i}": "95",
                     f"chengguan-{i}": "90", f"chuangyuan-{i}": "85"})  # fmt: skip
    return form


def test_the_office_enters_publishes_and_every_unit_reads(app, client, city):
    office = console_client(app, ADMIN)
    desk = console_client(app, DISPATCHER)
    assert desk.get(PAGE).status_code == 404  # a draft is the office's
    draft = text(office.get(PAGE))
    assert "草稿" in draft and "待录入" in draft and len(_departments(draft)) >= 10

    bad = post_form(office, f"{PAGE}/scores", PAGE, **_scores(draft, special="120"))
    assert bad.status_code == 422 and "应在0到100之间" in text(bad)
    assert "待录入" in text(office.get(PAGE))  # nothing of it was written
    saved = post_form(office, f"{PAGE}/scores", PAGE, **_scores(draft))
    assert saved.status_code == 303 and "已保存" in text(office.get(PAGE))

    item = {"department": "SANITATION", "rule": "award_city", "count": "2", "reason": "市级表彰"}
    assert post_form(office, f"{PAGE}/adjustments", PAGE, **item).status_code == 303
    no_reason = post_form(office, f"{PAGE}/adjustments", PAGE, **{**item, "reason": ""})
    assert no_reason.status_code == 422 and "必须填写原因" in text(no_reason)
    page = text(office.get(PAGE))
    row = page.split('<tr data-department="SANITATION">')[1].split("</tr>")[0]
    # no cases in October: 数字城管 100; 100×.5 + 90×.4 + 100×.02 + 95×.04 + 90×.02 + 85×.02 = 95.3
    assert "+1.00" in row and "96.30" in row and "优秀" in row

    assert post_form(office, f"{PAGE}/publish", PAGE).status_code == 303
    published = text(desk.get(PAGE))
    assert "已发布" in published and "96.30" in published and 'id="publish"' not in published
    assert "通报表扬" in published
    printable = text(desk.get(f"{PAGE}/print"))
    assert "数字城管月度考核通报（2026年10月）" in printable and "市级表彰" in printable
    with desk.get(f"{PAGE}/bulletin.xlsx") as xlsx:
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
        assert "attachment" in xlsx.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(xlsx.data))
    assert any("96.3" in str(c.value) for ws in book for r in ws.iter_rows() for c in r)
    handler = console_client(app, HANDLER)
    year = text(handler.get("/console/assessment?year=2026"))
    assert MONTH in year and 'data-department="SANITATION"' in year

    assert post_form(office, f"{PAGE}/withdraw", PAGE).status_code == 303
    assert desk.get(PAGE).status_code == 404


def test_the_office_alone_enters_and_a_running_month_cannot_be_published(app, client, city):
    office = console_client(app, ADMIN)
    running = "/console/assessment/2026-11"
    early = post_form(office, f"{running}/publish", running)
    assert early.status_code == 409
    desk = console_client(app, DISPATCHER)
    resp = post_form(desk, f"{PAGE}/adjustments", "/console/map", department="SANITATION",
                     rule="award_city", count="1", reason="x")  # fmt: skip
    assert resp.status_code in (403, 404)
    assert desk.get("/console/assessment/2026-1").status_code == 422
    assert desk.get("/console/assessment?year=abc").status_code == 422
