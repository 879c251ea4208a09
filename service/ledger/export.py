"""The ledger as files: CSV (UTF-8 with BOM, so Excel and WPS read the Chinese) and XLSX, row by row.

Both take batches of rows (from a server-side cursor) and never hold more than a batch.  XlsxWriter in
``constant_memory`` mode writes each row to its temporary file as it comes; the finished workbook is
then read back in chunks.  Text is never a formula in either (service.common.spreadsheet_safety).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import xlsxwriter

from service.common.spreadsheet_safety import csv_row, xlsxwriter_cell
from service.ledger.cells import as_text, cells
from service.ledger.columns import COLUMNS

BOM = "\ufeff"
CHUNK = 64 * 1024
SHEET = "台账"


def csv_chunks(batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """The header, then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    yield (BOM + buffer.getvalue()).encode()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            writer.writerow(csv_row(as_text(c, v) for c, v in zip(COLUMNS, cells(row), strict=True)))
        yield buffer.getvalue().encode()


class _Sheet:
    """The one worksheet: bold frozen header, widths, typed cells."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        self.formats = {
            "date": self.book.add_format({"num_format": "yyyy-mm-dd"}),
            "month": self.book.add_format({"num_format": "yyyy-mm"}),
            "percent": self.book.add_format({"num_format": "0%"}),
            "fraction": self.book.add_format({"num_format": "0%"}),
            "text": self.book.add_format({"text_wrap": False}),
        }
        self.sheet = self.book.add_worksheet(SHEET)
        bold = self.book.add_format({"bold": True, "bg_color": "#E8EEF4"})
        for col, column in enumerate(COLUMNS):
            self.sheet.set_column(col, col, column.width)
            self.sheet.write_string(0, col, column.header, bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def add(self, row: dict[str, Any]) -> None:
        for col, (column, value) in enumerate(zip(COLUMNS, cells(row), strict=True)):
            if value is None:
                continue
            if column.kind in ("date", "month"):
                self.sheet.write_datetime(
                    self.row, col, dt.datetime(value.year, value.month, value.day), self.formats[column.kind]
                )
            elif column.kind in ("percent", "fraction"):
                self.sheet.write_number(self.row, col, value, self.formats[column.kind])
            elif column.kind == "bool":
                self.sheet.write_string(self.row, col, "是" if value else "否")
            else:
                xlsxwriter_cell(self.sheet, self.row, col, str(value))  # never a formula
        self.row += 1


def xlsx_chunks(batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """Write the workbook to a temporary file batch by batch, then stream the file."""
    with tempfile.TemporaryDirectory(prefix="xiangmap-ledger-") as folder:
        path = Path(folder) / "ledger.xlsx"
        sheet = _Sheet(path)
        for batch in batches:
            for row in batch:
                sheet.add(row)
        sheet.book.close()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
