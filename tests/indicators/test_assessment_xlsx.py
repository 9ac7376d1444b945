"""The 月度考核通报 workbook, opened with openpyxl: the cells hold the published figures."""

from __future__ import annotations

from io import BytesIO

from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.factories import HANDLER, login

from .test_assessment_api import call, enter_october


def test_the_bulletin_workbook(client: FlaskClient, office: dict[str, str]) -> None:
    enter_october(client, office)
    call(client, "POST", "/api/assessments/2026-10/publish", office, 200)
    resp = client.get("/api/assessments/2026-10/bulletin.xlsx", headers=login(client, HANDLER))
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert "monthly-assessment-2026-10.xlsx" in resp.headers["Content-Disposition"]
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames == ["月度考核通报", "数字城管指标", "加减分明细"]

    ws = wb["月度考核通报"]
    assert ws["A1"].value == "城市管理“三化”月度考核通报（2026年10月）"
    assert ws["A2"].value.startswith("状态：已发布")
    assert [c.value for c in ws[3]] == [
        "排名", "单位", "数字城管（50%）", "专项整治（40%）", "综治平安建设（2%）",
        "县文明办（4%）", "县城管办（2%）", "县创园工作（2%）", "加分", "减分", "月度得分", "等级",
    ]  # fmt: skip
    rows = {r[1]: r for r in ws.iter_rows(min_row=4, max_row=17, values_only=True)}
    assert len(rows) == 14
    # 市政设施管理处 = MUNICIPAL: rank 12, 数字城管 65, entered 90/100/95/98/80,
    # bonus 0.5 + 3 (capped), penalty 0.5, total 80.86, 合格
    assert rows["市政设施管理处"] == (12, "市政设施管理处", 65, 90, 100, 95, 98, 80, 3.5, 0.5,
                                       80.86, "合格")  # fmt: skip
    assert rows["环境卫生管理处"][0] == 1 and rows["环境卫生管理处"][-2:] == (91.2, "优秀")
    first = next(ws.iter_rows(min_row=4, max_row=4, values_only=True))
    assert first[:2] == (1, "环境卫生管理处")  # ranked order
    assert ws.cell(row=15, column=11).number_format == "0.00"
    notes = {r[0]: r[2] for r in ws.iter_rows(min_row=19, values_only=True) if r[0]}
    assert notes["通报表扬（前两名）"] == "环境卫生管理处、供电公司"
    assert notes["通报批评（后两名）"] == "自来水公司、燃气公司"
    assert notes["末位"] == "燃气公司"

    ind = wb["数字城管指标"]
    municipal = next(
        r for r in ind.iter_rows(min_row=2, values_only=True) if r[0] == "市政设施管理处"
    )
    # 按时处置率 50 (1/2), 结案率 50 (1/2), 返工率 0 (0/1), 满意率 100 (1/1), score 65
    assert municipal[:10] == ("市政设施管理处", 50, "1/2", 50, "1/2", 0, "0/1", 100, "1/1", 65)
    gas = next(r for r in ind.iter_rows(min_row=2, values_only=True) if r[0] == "燃气公司")
    assert gas[1] is None and gas[9] == 100 and gas[10] == "当月无案件，按满分计"

    items = list(wb["加减分明细"].iter_rows(min_row=2, values_only=True))
    assert ("市政设施管理处", "加分", "承担并完成非自身职责内的问题", 7, 3.5,
            "协助清理非本单位职责问题7处") in items  # fmt: skip
    assert ("环境卫生管理处", "减分", "被县委县政府主要领导点名批评或县级通报", 1, -2,
            "县级通报：垃圾清运不及时") in items  # fmt: skip
