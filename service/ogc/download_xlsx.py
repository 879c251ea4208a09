"""``download.xlsx``: a collection as an Excel workbook for people (issue #14 item 10).

One row per feature: ``id``, every attribute, then the geometry: X / Y (longitude / latitude, or
easting / northing) for a point, and WKT for every geometry, in the requested CRS, x/y.  The header
row is Chinese with the field name beside it, so the columns are both readable and joinable.

Excel holds at most 32,767 characters in a cell and 1,048,576 rows in a sheet: a longer value (WKT of a
big polygon, a very long text) is left empty and the row's 备注 note says which and how long, the
说明 sheet says it again with the counts, and rows past a sheet's end continue on the next sheet.  No
cell is ever a formula: text is written with ``write_string`` (the XLSX rule of
service.common.spreadsheet_safety).  XlsxWriter's ``constant_memory`` mode writes each row to disk as it
comes (inline strings, no shared-string table), so memory stays flat for any size
(docs/decisions/0112-xlsx-download.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xlsxwriter

from service.common.spreadsheet_safety import xlsxwriter_cell
from service.ogc.crs import CrsInfo
from service.ogc.registry import Field

CELL_LIMIT = 32_767  # characters in one Excel cell
SHEET_ROWS = 1_048_576  # rows in one Excel sheet, the header row included
LABELS = {
    "id": "编号",
    "key": "键",
    "title": "标题",
    "task_text": "任务内容",
    "plan_id": "计划",
    "section": "章节",
    "number": "序号",
    "category": "类别",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "deadline": "完成时限",
    "deadline_text": "完成时限(原文)",
    "year": "年度",
    "precision": "定位精度",
    "location_status": "定位状态",
    "status": "上报状态",
    "derived_status": "进度分类",
    "overdue": "已逾期",
    "delay_reason": "滞后依据",
    "behind_category": "滞后原因类别",
    "planned_percent": "节点计划完成比例",
    "percent": "完成百分比",
    "investment_wan": "投资(万元)",
    "period": "报告期",
    "updated_at": "更新时间",
    "name": "名称",
    "aliases": "别名",
    "source": "来源",
    "accuracy_m": "精度(米)",
    "district": "区县",
    "road_class": "道路等级",
    "capacity_m3_d": "处理能力(立方米/日)",
    "kind": "类型",
    "adcode": "行政区划代码",
    "city": "城市",
    "city_adcode": "城市行政区划代码",
    "parent": "上级",
    "phase": "阶段",
    "regulation": "法规",
    "scheme": "方案",
    "subzone": "分区",
    "subzone_en": "分区(英文)",
    "method": "方法",
    "verified": "已核实",
    "valid_from": "起始日期",
    "valid_to": "终止日期",
}


def header(fields: list[Field], crs: CrsInfo) -> list[str]:
    """The header row: Chinese label and field name, the geometry columns naming the CRS."""
    x, y = ("经度 longitude", "纬度 latitude") if crs.geographic else ("X 东坐标 easting", "Y 北坐标 northing")
    names = ["id", *(f.name for f in fields)]
    cells = [f"{LABELS[n]} {n}" if n in LABELS else n for n in names]
    return [*cells, f"{x} ({crs.uri})", f"{y} ({crs.uri})", f"WKT ({crs.uri})", "备注 note"]


def _cell(value: Any) -> Any:
    """Excel has no time zones: a timestamp is written as ISO text; the rest as they are."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


class XlsxBook:
    """A workbook written row by row; ``close`` adds the 说明 sheet and returns the notes for the header."""

    def __init__(self, path: Path, title: str, sheet: str, columns: list[str], crs: CrsInfo) -> None:
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        self.bold = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.title = title
        self.sheet_name = sheet[:28]
        self.columns = columns
        self.crs = crs
        self.sheets = 0
        self.rows = 0
        self.row = SHEET_ROWS  # start a sheet on the first row
        self.too_long: dict[str, int] = {}
        self.sheet: Any = None

    def _new_sheet(self) -> None:
        self.sheets += 1
        name = self.sheet_name if self.sheets == 1 else f"{self.sheet_name}_{self.sheets}"
        self.sheet = self.book.add_worksheet(name)
        for col, text in enumerate(self.columns):
            self.sheet.write_string(0, col, text, self.bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def _write(self, col: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            xlsxwriter_cell(self.sheet, self.row, col, value)  # never a formula, whatever it starts with
        elif isinstance(value, bool):
            self.sheet.write_boolean(self.row, col, value)
        elif isinstance(value, int | float):
            self.sheet.write_number(self.row, col, value)
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(self.row, col, dt.datetime(value.year, value.month, value.day), self.date)
        else:
            self.sheet.write_string(self.row, col, str(value))

    def add(self, values: Iterable[Any]) -> None:
        """One feature: id, the attributes, x, y, WKT (the last three may be None)."""
        if self.row >= SHEET_ROWS:
            self._new_sheet()
        notes = []
        for col, raw in enumerate(values):
            value = _cell(raw)
            if isinstance(value, str) and len(value) > CELL_LIMIT:
                name = self.columns[col]
                notes.append(f"{name}: {len(value):,} characters, over Excel's {CELL_LIMIT:,} per cell: left empty")
                self.too_long[name] = self.too_long.get(name, 0) + 1
                continue
            self._write(col, value)
        if notes:
            self.sheet.write_string(self.row, len(self.columns) - 1, "; ".join(notes))
        self.row += 1
        self.rows += 1

    def close(self, formats_hint: str) -> list[str]:
        """Finish the workbook with its 说明 (notes) sheet; the notes worth a response header (English)."""
        if self.sheet is None:
            self._new_sheet()
        notes = self.book.add_worksheet("说明 notes")
        lines = [
            self.title,
            f"要素 features: {self.rows:,}" + (f", 分 {self.sheets} 张工作表 sheets" if self.sheets > 1 else ""),
            f"坐标系 CRS: {self.crs.uri}; X/Y 列只给点要素 (points only), WKT 列给每个要素 (x/y order)",
        ]
        header_notes = []
        for name, count in self.too_long.items():
            line = f"{name}: {count} values over Excel's {CELL_LIMIT:,} characters per cell, left empty"
            line += f" ({formats_hint})"
            lines.append(line)
            header_notes.append(line)
        if not self.too_long:
            lines.append(f"每个值都完整 every value is whole (none over {CELL_LIMIT:,} characters)")
        for row, line in enumerate(lines):
            notes.write_string(row, 0, line)
        self.book.close()
        return header_notes
