"""The notice as a workbook: one sheet, the unit in the first column, a bold frozen header, dates as dates,
text never a formula (service.common.spreadsheet_safety)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import xlsxwriter

from service.case_reports.columns import COLUMNS
from service.case_reports.notices import NoticeFilters, UnitNotice
from service.common.spreadsheet_safety import xlsxwriter_cell

SHEET = "通报"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def notice_xlsx(units: Sequence[UnitNotice], filters: NoticeFilters, title: str) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    sheet = book.add_worksheet(SHEET)
    for col, column in enumerate(COLUMNS):
        sheet.set_column(col, col, column.width)
        sheet.write_string(0, col, column.header, bold)
    sheet.freeze_panes(1, 0)
    row = 1
    for unit in units:
        for case in unit.cases:
            for col, column in enumerate(COLUMNS):
                value = unit.unit if column.key == "unit" else case.get(column.key)
                if value is None or value == "":
                    continue
                if column.kind == "date":
                    sheet.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), date_format)
                elif column.kind == "int":
                    sheet.write_number(row, col, int(value))
                else:
                    xlsxwriter_cell(sheet, row, col, str(value))
            row += 1
    if row > 1:
        sheet.autofilter(0, 0, row - 1, len(COLUMNS) - 1)
    book.set_properties({"title": title, "subject": f"截至 {filters.as_of.isoformat()}"})
    book.close()
    return out.getvalue()
