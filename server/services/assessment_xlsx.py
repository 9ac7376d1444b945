"""The 月度考核通报 as an Excel workbook (openpyxl), from the bulletin the API returns.

Sheets: 月度考核通报 (ranking with every part, bonus, penalty, total and grade, then the units
to be praised and criticised), 数字城管指标 (the indicators behind the 数字城管 part, with
numerators and denominators), 加减分明细 (each bonus and penalty item with its reason).
Scores are numeric cells (format 0.00), so the office can sort and sum in Excel.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..domain.indicators import DEFINITIONS

TITLE = "城市管理“三化”月度考核通报"
BOLD = Font(bold=True)
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
DIGITAL_KEYS = ("on_time_handle", "closure", "rework", "satisfaction")


def _month_zh(month: str) -> str:
    year, mm = month.split("-")
    return f"{year}年{int(mm)}月"


def _header(ws: Worksheet, row: int, titles: list[str]) -> None:
    for col, title in enumerate(titles, 1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font, cell.alignment = BOLD, CENTRE


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _number(ws: Worksheet, row: int, col: int, value: float | None) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    cell.number_format = "0.00"


def _ranking(ws: Worksheet, b: dict[str, Any]) -> None:
    parts = b["parts"]
    titles = ["排名", "单位"]
    titles += [f"{p['name_zh']}（{round(p['weight'] * 100)}%）" for p in parts]
    titles += ["加分", "减分", "月度得分", "等级"]
    status = "已发布" if b["status"] == "published" else "草稿（未发布）"
    ws.append([f"{TITLE}（{_month_zh(b['month'])}）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(titles))
    ws["A1"].font, ws["A1"].alignment = Font(bold=True, size=14), CENTRE
    when = (b.get("published_at") or "")[:10]
    ws.append([f"状态：{status}{'　发布日期：' + when if when else ''}"
               f"　数字城管数据截至：{b['as_of'][:16].replace('T', ' ')} UTC"])  # fmt: skip
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(titles))
    _header(ws, 3, titles)
    row = 4
    for u in b["units"]:
        ws.cell(row=row, column=1, value=u["rank"])
        ws.cell(row=row, column=2, value=u["name"])
        for i, p in enumerate(parts):
            _number(ws, row, 3 + i, u["parts"].get(p["key"]))
        col = 3 + len(parts)
        _number(ws, row, col, u["bonus"])
        _number(ws, row, col + 1, u["penalty"])
        _number(ws, row, col + 2, u["total"])
        grade = u["grade"]["name_zh"] if u["grade"] else "未录齐：" + "、".join(
            _part_zh(parts, k) for k in u["missing"])  # fmt: skip
        ws.cell(row=row, column=col + 3, value=grade)
        row += 1
    names = {u["department"]: u["name"] for u in b["units"]}
    row += 1
    formula = "月度考核成绩 = " + " + ".join(
        f"{p['name_zh']}×{round(p['weight'] * 100)}%" for p in parts
    ) + " + 加分 − 减分"  # fmt: skip
    for label, keys in (
        ("通报表扬（前两名）", b["named"]["praised"]),
        ("通报批评（后两名）", b["named"]["criticised"]),
        ("第一名", b["named"]["first"]),
        ("末位", b["named"]["last"]),
    ):
        ws.cell(row=row, column=1, value=label).font = BOLD
        ws.cell(row=row, column=3, value="、".join(names.get(k, k) for k in keys) or "—")
        row += 1
    ws.cell(row=row + 1, column=1, value=formula)
    ws.cell(row=row + 2, column=1, value="等级：优秀 ≥ 90，良好 ≥ 85，合格 ≥ 75，75以下不合格。")
    ws.freeze_panes = "C4"
    _widths(ws, [6, 26] + [13] * len(parts) + [8, 8, 11, 10])


def _part_zh(parts: list[dict[str, Any]], key: str) -> str:
    return next((p["name_zh"] for p in parts if p["key"] == key), key)


def _indicators(ws: Worksheet, b: dict[str, Any]) -> None:
    titles = ["单位"]
    for key in DIGITAL_KEYS:
        titles += [DEFINITIONS[key].name_zh + "（%）", "分子/分母"]
    titles += ["数字城管得分", "说明"]
    _header(ws, 1, titles)
    for row, u in enumerate(b["units"], 2):
        ws.cell(row=row, column=1, value=u["name"])
        figs = u["digital"]["indicators"]
        for i, key in enumerate(DIGITAL_KEYS):
            f = figs.get(key, {"value": None, "numerator": 0, "denominator": 0})
            _number(ws, row, 2 + 2 * i, f["value"])
            ws.cell(row=row, column=3 + 2 * i, value=f"{f['numerator']}/{f['denominator']}")
        col = 2 + 2 * len(DIGITAL_KEYS)
        _number(ws, row, col, u["parts"]["digital"])
        ws.cell(row=row, column=col + 1, value="当月无案件，按满分计" if u["digital"]["no_cases"]
                else "")  # fmt: skip
    last = len(b["units"]) + 3
    for i, key in enumerate(DIGITAL_KEYS):
        ws.cell(row=last + i, column=1, value=DEFINITIONS[key].formula_zh)
    ws.cell(row=last + len(DIGITAL_KEYS), column=1,
            value="数字城管得分 = 按时处置率×40% + 结案率×30% + 满意率×20% + (100 − 返工率)×10%；"
                  "无数据的指标不计，其权重按比例分给其余指标。")  # fmt: skip
    _widths(ws, [26] + [12, 11] * len(DIGITAL_KEYS) + [13, 22])


def _items(ws: Worksheet, b: dict[str, Any]) -> None:
    _header(ws, 1, ["单位", "类别", "项目", "次数", "分值", "原因"])
    row = 2
    for u in b["units"]:
        for a in u["adjustments"]:
            kind = "加分" if a["kind"] == "bonus" else "减分"
            for col, value in enumerate((u["name"], kind, a["name_zh"], a["count"]), 1):
                ws.cell(row=row, column=col, value=value)
            _number(ws, row, 5, a["points"] if a["kind"] == "bonus" else -a["points"])
            ws.cell(row=row, column=6, value=a["reason"])
            row += 1
    if row == 2:
        ws.cell(row=2, column=1, value="本月无加减分项目。")
    _widths(ws, [26, 8, 36, 6, 8, 50])


def bulletin_xlsx(b: dict[str, Any]) -> bytes:
    """The bulletin ``b`` (as ``server.services.assessment.bulletin`` returns it) as .xlsx."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "月度考核通报"
    _ranking(ws, b)
    _indicators(wb.create_sheet("数字城管指标"), b)
    _items(wb.create_sheet("加减分明细"), b)
    wb.properties.title = f"{TITLE}（{_month_zh(b['month'])}）"
    wb.properties.creator = "城管通"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
