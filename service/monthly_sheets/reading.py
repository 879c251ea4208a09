"""An uploaded monthly sheet read back: the file's guards first, then the title row's month and each task row.

Guards (before openpyxl opens anything): the name says .xlsx, the size is within ``max_upload_mb``, the
bytes are a zip whose central directory passes ``service.common.upload_safety.check_archive`` (no bomb,
no traversal, not encrypted) and that holds a workbook part.  Cells are read as text the way the
progress import reads them (``cell_text``: ``service.progress.usecases.xlsx_text``: a percent-formatted 0.8 is 80%), and
text goes through ``imported_text`` (service.common.spreadsheet_safety), so a typed ``=...`` stays text.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.common.spreadsheet_safety import imported_text
from service.common.upload_safety import MB, UnsafeUpload, UploadLimits, check_archive
from service.errors import Problem
from service.monthly_sheets.columns import (
    COLUMNS,
    FILL_COLUMNS,
    HEADER_ALIASES,
    PERIOD_LABEL,
    TASK_ID,
    UNIT_LABEL,
)

MAX_ROWS = 5_000  # a unit has a few hundred tasks at most
MAX_COLUMNS = 40  # the sheet has 13; columns beyond these are never read
HEADER_SEARCH_ROWS = 10
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class SheetRow:
    row: int  # the spreadsheet's row number
    task_id: str  # as written
    values: dict[str, str]  # the filled columns by key, as text


@dataclass
class SheetContent:
    period_text: str
    unit_text: str
    rows: list[SheetRow] = field(default_factory=list)
    header_row: int = 2


def _refuse(status: int, zh: str, en: str) -> Problem:
    return Problem(status, f"{zh} / {en}", parameter="file")


def check_file(filename: str, content: bytes, limits: UploadLimits | None = None) -> None:
    """Refuse what is not a modest, sound .xlsx workbook, saying why (nothing is parsed yet)."""
    limits = limits or UploadLimits.from_settings()
    name = Path(filename or "upload").name
    if Path(name).suffix.lower() != ".xlsx":
        raise _refuse(
            415,
            f"“{name}”不是 .xlsx 文件：请上传从本页下载、填写后的 Excel 工作簿（.xlsx）",
            f"{name!r} is not an .xlsx file; upload the monthly sheet as downloaded and filled (.xlsx)",
        )
    if not content:
        raise _refuse(400, f"“{name}”是空文件", f"{name!r} is empty")
    if len(content) > limits.max_file_bytes:
        raise _refuse(
            413,
            f"“{name}”超过 {limits.max_file_bytes // MB} MB",
            f"{name!r} is larger than {limits.max_file_bytes // MB} MB",
        )
    if not content.startswith(b"PK\x03\x04"):
        raise _refuse(
            415,
            f"“{name}”的内容不是 Excel 工作簿（.xlsx），可能是改了扩展名的其他文件",
            f"{name!r} is not an XLSX workbook (its content is another kind of file)",
        )
    with tempfile.TemporaryDirectory(prefix="xm-sheet-") as folder:
        path = Path(folder) / "upload.xlsx"
        path.write_bytes(content)
        try:
            members = check_archive(path, name, limits)
        except UnsafeUpload as exc:
            raise Problem(
                exc.status, f"“{name}”不能读取（压缩结构不安全或已损坏） / {exc.detail}", parameter="file"
            ) from None
    if not any(m.filename == "xl/workbook.xml" for m in members):
        raise _refuse(
            415,
            f"“{name}”是压缩包但不是 Excel 工作簿",
            f"{name!r} is a zip archive but not an XLSX workbook (no xl/workbook.xml)",
        )


CellText = Callable[[Any, "str | None"], str]  # (value, number format) -> text: progress.usecases.xlsx_text


def _text(cell: Any, cell_text: CellText) -> str:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f" and isinstance(value, str):
        return imported_text(value)  # a formula is kept as the text written, never evaluated
    return imported_text(cell_text(value, getattr(cell, "number_format", None)))


def _key(header: str) -> str | None:
    header = header.strip().replace(" ", "")
    for column in COLUMNS:
        if header == column.header:
            return column.key
    return HEADER_ALIASES.get(header)


def read(filename: str, content: bytes, cell_text: CellText) -> SheetContent:
    """The title row's unit and month, and every row under the header that names a task or has a value.

    ``cell_text`` turns a cell into the text the progress row checks read (the caller passes
    ``service.progress.usecases.xlsx_text``, so both readings of a percent cell are one)."""
    from openpyxl import load_workbook

    check_file(filename, content)
    name = Path(filename or "upload").name
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise _refuse(
            422, f"“{name}”不是可读的 Excel 工作簿", f"{name!r} is not a readable XLSX workbook ({exc})"
        ) from None
    try:
        if not book.worksheets:
            raise _refuse(422, f"“{name}”没有工作表", f"{name!r} has no worksheet")
        rows = []
        for number, row in enumerate(book.worksheets[0].iter_rows(max_col=MAX_COLUMNS), start=1):
            if number > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise _refuse(413, f"“{name}”超过 {MAX_ROWS} 行", f"{name!r} has more than {MAX_ROWS} rows")
            rows.append([_text(cell, cell_text) for cell in row])
    finally:
        book.close()
    return _content(name, rows)


def _content(name: str, rows: list[list[str]]) -> SheetContent:
    header_at = next(
        (i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if TASK_ID in {_key(v) for v in row}),
        None,
    )
    if header_at is None:
        raise _refuse(
            422,
            f"“{name}”里找不到表头（任务编号、本月状态、完成比例）：请用本页下载的月报表填写",
            f"{name!r} has no header row naming 任务编号 (task id): fill in the monthly sheet as downloaded",
        )
    keys = [_key(v) for v in rows[header_at]]
    missing = [c.header for c in FILL_COLUMNS if c.key in ("status", "percent") and c.key not in keys]
    if missing:
        raise _refuse(
            422,
            f"“{name}”缺少列：{'、'.join(missing)}",
            f"{name!r} lacks the column(s) {', '.join(missing)}",
        )
    period_text = unit_text = ""
    for row in rows[:header_at]:
        for i, value in enumerate(row):
            following = next((v for v in row[i + 1 :] if v), "")
            if value.strip("：: ") == PERIOD_LABEL and not period_text:
                period_text = following
            elif value.strip("：: ") == UNIT_LABEL and not unit_text:
                unit_text = following
    content = SheetContent(period_text, unit_text, header_row=header_at + 1)
    fill_keys = {c.key for c in FILL_COLUMNS}
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = {key: value for key, value in zip(keys, row, strict=False) if key}
        values = {k: v for k, v in cells.items() if k in fill_keys}
        task_id = cells.get(TASK_ID, "")
        if not task_id and not any(values.values()):
            continue
        content.rows.append(SheetRow(offset, task_id, values))
    return content
