"""The sheet a unit downloads: a title row (单位, 月份), a frozen Chinese header, the task columns locked and
the columns to fill unlocked, 本月状态 from a list, 完成比例 as a percent, widths, wrapped text, dates as dates.

Every text goes in as a string cell (service.common.spreadsheet_safety): a task titled ``=HYPERLINK(...)``
stays text in Excel.  A unit's sheet holds at most a few hundred tasks, so openpyxl's ordinary workbook
(which the protection and the data validation need) is small enough.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from service.common.spreadsheet_safety import xlsx_cell
from service.models.plans import BEHIND_CATEGORIES, PROGRESS_STATUSES
from service.monthly_sheets.columns import (
    COLUMNS,
    FIRST_DATA_ROW,
    HEADER_ROW,
    PERIOD_LABEL,
    TITLE_ROW,
    UNIT_LABEL,
    Column,
)

SHEET_TITLE = "月报"
PERCENT_FORMAT = "0%"
DATE_FORMAT = "yyyy-mm-dd"
NUMBER_FORMAT = "#,##0.00"
LOCKED_FILL = PatternFill("solid", fgColor="EEF1F4")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")
TO_FILL = PatternFill("solid", fgColor="FFFBEA")
THIN = Side(style="thin", color="B8C2CC")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")


def _value(column: Column, task: dict[str, Any]) -> Any:
    value = task["id"] if column.kind == "id" else task.get(column.key)
    if column.kind == "units":
        return "、".join(value or [])
    if column.kind == "date":
        return value if isinstance(value, date) else (task.get("deadline_text") or None)
    if column.kind == "percent":
        return None if value is None else round(float(value) / 100, 6)  # Excel keeps a percent as its fraction
    if column.kind == "id":
        return int(value)
    return value


def _choice_list(title: str, values: tuple[str, ...], error: str, prompt: str) -> DataValidation:
    """A drop-down of ``values`` that refuses anything else, with its prompt (Excel and WPS show both)."""
    return DataValidation(
        type="list",
        formula1='"' + ",".join(values) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=title,
        error=error + "、".join(values),
        promptTitle=title,
        prompt=prompt,
        showInputMessage=True,
    )


def build(unit_name: str, period: date, tasks: list[dict[str, Any]]) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    bold = Font(bold=True)
    for col, value in ((1, UNIT_LABEL), (2, unit_name), (4, PERIOD_LABEL), (5, period.strftime("%Y-%m"))):
        cell = xlsx_cell(sheet.cell(TITLE_ROW, col), value)
        cell.font = Font(bold=True, size=12) if col in (2, 5) else bold
    note = xlsx_cell(
        sheet.cell(TITLE_ROW, 6),
        "填写黄色各列后在 xiangmap「月报」页面上传；灰色各列为任务信息，请勿修改",
    )
    note.font = Font(italic=True, color="555555")
    sheet.row_dimensions[HEADER_ROW].height = 30
    for index, column in enumerate(COLUMNS, start=1):
        cell = xlsx_cell(sheet.cell(HEADER_ROW, index), column.header)
        cell.font = bold
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    statuses = _choice_list("本月状态", PROGRESS_STATUSES, "请从列表中选择：", "从列表中选择")
    reasons = _choice_list(
        "滞后原因类别", BEHIND_CATEGORIES, "滞后时请从列表中选择：", "任务滞后时从列表中选择，并在“滞后原因”中说明"
    )
    sheet.add_data_validation(statuses)
    sheet.add_data_validation(reasons)
    last_row = FIRST_DATA_ROW + len(tasks) - 1
    for offset, task in enumerate(tasks):
        row = FIRST_DATA_ROW + offset
        for index, column in enumerate(COLUMNS, start=1):
            cell = xlsx_cell(sheet.cell(row, index), _value(column, task))
            cell.border = BORDER
            cell.alignment = WRAP
            cell.fill = TO_FILL if column.fill else LOCKED_FILL
            cell.protection = Protection(locked=not column.fill)
            if column.kind == "percent":
                cell.number_format = PERCENT_FORMAT
            elif column.kind == "date" and isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            elif column.kind == "number":
                cell.number_format = NUMBER_FORMAT
    if tasks:
        status_col = get_column_letter(next(i for i, c in enumerate(COLUMNS, start=1) if c.kind == "status"))
        statuses.add(f"{status_col}{FIRST_DATA_ROW}:{status_col}{last_row}")
        reason_col = get_column_letter(next(i for i, c in enumerate(COLUMNS, start=1) if c.key == "behind_category"))
        reasons.add(f"{reason_col}{FIRST_DATA_ROW}:{reason_col}{last_row}")
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 1)
    # the task columns are locked (no password: protection guards against slips, not against the unit)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{max(last_row, HEADER_ROW)}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
