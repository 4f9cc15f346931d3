"""Blank spreadsheets for the files task forms ask for (owner roll, ballot sheets), with the
Chinese column headings the importers read. A form's file field names its template with
`"x-template": "<name>"`; the page then offers XLSX and CSV downloads next to the file input."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.domain.owner_roll import TEMPLATE_COLUMNS as ROLL_COLUMNS
from engine.runtime.errors import NotFound

from ..deps import CurrentViewer

router = APIRouter(include_in_schema=False)

# name: (file title, headings, how to fill it in)
TEMPLATES: dict[str, tuple[str, tuple[str, ...], list[str]]] = {
    "roll": ("业主名册模板", ROLL_COLUMNS, [
        "每套房屋一行；同一业主有多套房屋的，每套一行、业主编号相同。",
        "建设单位未出售的房屋，业主编号填“开发商”，业主姓名可空。",
        "专有部分面积以平方米计，可保留两位小数；楼栋可不填。",
        "居民身份证号码可不填；小区以“身份证号后六位”验证网上投票的，每位业主（开发商除外）必填，18位，末位X大小写均可。"]),
    "ballots": ("选票统计模板（候选人）", ("业主编号", "候选人", "表决意见"), [
        "每位业主对每名候选人一行。",
        "候选人填候选人编号或姓名；表决意见填“同意”“反对”或“弃权”。",
        "业主编号须与业主名册一致。"]),
    "vote_sheet": ("表决统计模板（表决事项）", ("业主编号", "表决事项", "表决意见"), [
        "每位业主对每个表决事项一行；表决事项与表决安排中填写的事项文字一致。",
        "表决意见填“同意”“反对”或“弃权”。",
        "业主编号须与业主名册一致。"]),
}


def template_csv(name: str) -> bytes:
    _title, columns, _help = TEMPLATES[name]
    out = io.StringIO()
    csv.writer(out).writerow(columns)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: spreadsheet programs then read it as UTF-8


def template_xlsx(name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    title, columns, help_lines = TEMPLATES[name]
    wb = Workbook()
    ws = wb.worksheets[0]  # a new workbook's one (active) sheet
    ws.title = "填写表"  # the importers read the first sheet
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, col in enumerate(columns):
        ws.column_dimensions[chr(ord("A") + i)].width = max(12, len(col) * 2 + 4)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append([title])
    for line in help_lines:
        notes.append([line])
    notes.column_dimensions["A"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@router.get("/templates/{name}.{fmt}")
def download_template(request: Request, name: str, fmt: str, v: CurrentViewer):
    if name not in TEMPLATES or fmt not in ("xlsx", "csv"):
        raise NotFound(f"no template {name}.{fmt}", "没有这个模板")
    title = TEMPLATES[name][0]
    if fmt == "csv":
        content, media = template_csv(name), "text/csv; charset=utf-8"
    else:
        content, media = template_xlsx(name), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title + '.' + fmt)}"})
