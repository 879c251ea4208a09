"""The first sheet of an uploaded spreadsheet (.xlsx, .xls, .csv) as a grid of cells, merged cells un-merged.

What the file *is* decides how it is read (a zip is an .xlsx, an OLE2 compound file an .xls, anything else a
CSV in UTF-8 or GB18030), and the name must be one of those suffixes.  Before a parser sees the bytes:

- the size is bounded (``max_upload_mb``);
- an .xlsx is a zip: its central directory is checked by ``service.common.upload_safety.check_archive``
  (members, inflation ratio, total unpacked size, paths) before openpyxl opens it, read-only;
- at most :data:`MAX_COLUMNS` columns and :data:`MAX_ROWS` rows with content are read, and the table is
  taken to end after :data:`BLANK_RUN` blank rows in a row, so a sheet that declares a million empty rows
  costs a few milliseconds, not minutes;
- every text cell goes through ``imported_text`` (stripped, a formula written as text kept as text).

Cells are ``str`` (``""`` when empty) or ``datetime.date`` (an Excel date cell).  A merged range gives its
value to every cell it covers (a lead unit merged over three tasks belongs to each); the ranges are kept,
so the table reader can tell sub-rows of one merged 序号 apart.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from service.common.spreadsheet_safety import imported_text
from service.common.spreadsheets import decode_csv
from service.common.upload_safety import MB, UnsafeUpload, UploadLimits, check_archive

MAX_COLUMNS = 40
MAX_ROWS = 5000  # rows with content; a plan has a few hundred tasks
BLANK_RUN = 200  # this many blank rows in a row end the table
MAX_MERGES = 20_000
MAX_SHEET_BYTES = 64 * 1024 * 1024  # one XML part (a sheet, the shared strings), unpacked: a plan's is under 5 MB
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".txt")
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

Cell = str | date


class SheetRefused(Exception):
    """The file as a whole cannot be read; ``status`` is the HTTP status, ``zh`` / ``en`` say why."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status = status
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Merge:
    """A merged range, 1-based and inclusive."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int

    def covers(self, row: int, col: int) -> bool:
        return self.min_row <= row <= self.max_row and self.min_col <= col <= self.max_col


@dataclass
class Grid:
    rows: list[list[Cell]]  # rows[0] is the sheet's row 1; every row MAX_COLUMNS wide or less
    merges: list[Merge] = field(default_factory=list)
    kind: str = "xlsx"  # xlsx, xls, csv (utf-8), csv (gb18030)
    sheet: str = ""
    notes: list[tuple[str, str]] = field(default_factory=list)  # (zh, en) said in the preview, not problems

    def merge_at(self, row: int, col: int) -> Merge | None:
        return next((m for m in self.merges if m.covers(row, col)), None)


def read_grid(filename: str, content: bytes, limits: UploadLimits | None = None) -> Grid:
    """The first sheet of the file, or :class:`SheetRefused` naming what is wrong with it."""
    limits = limits or UploadLimits.from_settings()
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise SheetRefused(
            415,
            f"不支持的文件类型“{suffix or filename}”：请上传 .xlsx、.xls 或 .csv",
            f"unsupported file type {suffix or filename!r}: upload an .xlsx, .xls or .csv file",
        )
    if len(content) > limits.max_file_bytes:
        raise SheetRefused(
            413,
            f"文件超过 {limits.max_file_bytes // MB} MB",
            f"the file is larger than {limits.max_file_bytes // MB} MB",
        )
    if not content.strip():
        raise SheetRefused(422, "文件是空的", "the file is empty")
    if content.startswith(ZIP_MAGIC):
        grid = _read_xlsx(filename, content, limits)
    elif content.startswith(OLE2_MAGIC):
        grid = _read_xls(content)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        raise SheetRefused(
            422,
            f"{filename} 不是 Excel 工作簿（内容不符）：请在 Excel 或 WPS 中另存为 .xlsx",
            f"{filename} is not an Excel workbook (its content does not match): save it as .xlsx",
        )
    else:
        grid = _read_csv(content)
    _unmerge(grid)
    return grid


# ---------------------------------------------------------------- .xlsx


def _read_xlsx(filename: str, content: bytes, limits: UploadLimits) -> Grid:
    from openpyxl import load_workbook

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
        tmp.write(content)
        tmp.flush()
        path = Path(tmp.name)
        try:
            members = {m.filename: m.file_size for m in check_archive(path, filename, limits)}
        except UnsafeUpload as exc:
            raise SheetRefused(exc.status, f"文件被拒绝：{exc.detail}", exc.detail) from None
        # openpyxl reads the shared strings and styles whole, and streams a sheet: each bounded unpacked
        too_big = [n for n, size in members.items() if n.endswith(".xml") and size > MAX_SHEET_BYTES]
        if too_big:
            raise SheetRefused(
                413,
                f"工作簿的内容展开后超过 {MAX_SHEET_BYTES // MB} MB（{too_big[0]}）",
                f"a part of the workbook unpacks to more than {MAX_SHEET_BYTES // MB} MB ({too_big[0]})",
            )
        if "xl/workbook.xml" not in members:
            raise SheetRefused(
                422,
                f"{filename} 是 zip 压缩包，不是 Excel 工作簿",
                f"{filename} is a zip archive, not an Excel workbook",
            )
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise SheetRefused(
                422, f"{filename} 无法作为 Excel 工作簿读取", f"{filename} is not a readable workbook ({exc})"
            ) from None
        try:
            sheets = [s for s in book.worksheets if hasattr(s, "iter_rows")]
            if not sheets:
                raise SheetRefused(422, "工作簿里没有工作表", "the workbook has no worksheet")
            sheet = sheets[0]
            grid = Grid(rows=[], kind="xlsx", sheet=str(sheet.title))
            _note_other_sheets(grid, [str(s.title) for s in sheets])
            _take_rows(grid, (list(r) for r in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)))
            grid.merges = _xlsx_merges(sheet, len(grid.rows))
        except SheetRefused:
            raise
        except Exception as exc:
            raise SheetRefused(
                422, f"{filename} 的内容无法读取（文件已损坏？）", f"{filename} could not be read ({exc})"
            ) from None
        finally:
            book.close()
    return grid


def _xlsx_merges(sheet: Any, rows: int) -> list[Merge]:
    """The sheet's merged ranges, streamed from its XML (openpyxl's read-only sheets do not keep them).

    ``_get_source`` is the read-only sheet's own way to open its part of the archive; the XML is parsed by
    defusedxml (no DTD, no entities), element by element, each dropped once read.
    """
    from defusedxml.ElementTree import iterparse
    from openpyxl.utils.cell import range_boundaries

    merges: list[Merge] = []
    open_elements: list[Any] = []
    with sheet._get_source() as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                continue
            open_elements.pop()
            if element.tag.endswith("}mergeCell"):
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                if min_row <= rows and min_col <= MAX_COLUMNS:
                    merges.append(Merge(min_row, min_col, min(max_row, rows), min(max_col, MAX_COLUMNS)))
                if len(merges) > MAX_MERGES:
                    raise SheetRefused(413, f"合并单元格超过 {MAX_MERGES} 处", f"more than {MAX_MERGES} merged ranges")
            if open_elements:  # a finished element leaves its parent: memory stays flat over any number of rows
                open_elements[-1].remove(element)
    return merges


# ---------------------------------------------------------------- .xls


def _read_xls(content: bytes) -> Grid:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=content, formatting_info=True, on_demand=True)
    except Exception as exc:
        raise SheetRefused(
            422,
            "无法作为 .xls 工作簿读取（若设置了打开密码，请先取消密码）",
            f"not a readable .xls workbook; remove any password first ({exc})",
        ) from None
    try:
        if book.nsheets == 0:
            raise SheetRefused(422, "工作簿里没有工作表", "the workbook has no worksheet")
        sheet = book.sheet_by_index(0)
        grid = Grid(rows=[], kind="xls", sheet=str(sheet.name))
        _note_other_sheets(grid, [str(n) for n in book.sheet_names()])

        def cells(r: int) -> list[Any]:
            out: list[Any] = []
            for c in range(min(sheet.ncols, MAX_COLUMNS)):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    out.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    out.append(None)
                else:
                    out.append(cell.value)
            return out

        _take_rows(grid, (cells(r) for r in range(sheet.nrows)))
        rows = len(grid.rows)
        for rlo, rhi, clo, chi in sheet.merged_cells:  # 0-based, half-open
            if rlo < rows and clo < MAX_COLUMNS:
                grid.merges.append(Merge(rlo + 1, clo + 1, min(rhi, rows), min(chi, MAX_COLUMNS)))
    except SheetRefused:
        raise
    except Exception as exc:
        raise SheetRefused(
            422, "无法读取这个 .xls 工作簿的内容", f"the .xls workbook could not be read ({exc})"
        ) from None
    finally:
        book.release_resources()
    return grid


# ---------------------------------------------------------------- .csv


def _read_csv(content: bytes) -> Grid:
    decoded = decode_csv(content)
    if decoded is None:
        raise SheetRefused(
            422,
            "文件既不是 UTF-8 也不是 GBK/GB18030 编码：请另存为“CSV UTF-8”",
            "the file is neither UTF-8 nor GBK/GB18030: save it as CSV UTF-8",
        )
    text, encoding = decoded
    if "\x00" in text:
        raise SheetRefused(422, "这不是文本表格（含有二进制内容）", "this is not a text table (it holds binary data)")
    grid = Grid(rows=[], kind=f"csv ({encoding.removesuffix('-sig')})")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        _take_rows(grid, (row[:MAX_COLUMNS] for row in reader))
    except csv.Error as exc:
        raise SheetRefused(
            422, f"CSV 格式错误（约第 {reader.line_num} 行）", f"malformed CSV near line {reader.line_num} ({exc})"
        ) from None
    return grid


# ---------------------------------------------------------------- shared


def _note_other_sheets(grid: Grid, names: list[str]) -> None:
    if len(names) > 1:
        others = "、".join(names[1:])
        grid.notes.append(
            (
                f"只读取了第一个工作表“{names[0]}”；其余工作表（{others}）未读取",
                f"only the first sheet {names[0]!r} was read; the others ({', '.join(names[1:])}) were not",
            )
        )


def _cell(value: Any) -> Cell:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return imported_text(str(value))


def _take_rows(grid: Grid, rows: Any) -> None:
    """Rows into the grid: trailing blank rows dropped, the table ended by a long blank run, content bounded."""
    blank = 0
    filled = 0
    for raw in rows:
        row = [_cell(v) for v in raw[:MAX_COLUMNS]]
        if any(v != "" for v in row):
            filled += 1
            if filled > MAX_ROWS:
                raise SheetRefused(
                    413, f"表格超过 {MAX_ROWS} 行：请分成几个文件", f"the sheet has more than {MAX_ROWS} rows"
                )
            grid.rows.extend([[] for _ in range(blank)])
            grid.rows.append(row)
            blank = 0
            continue
        blank += 1
        if blank >= BLANK_RUN:
            at = len(grid.rows) + blank
            grid.notes.append(
                (
                    f"第 {len(grid.rows)} 行之后连续 {BLANK_RUN} 行为空，视为表格结束（第 {at} 行以后未读取）",
                    f"{BLANK_RUN} blank rows after row {len(grid.rows)} end the table (nothing after row {at} read)",
                )
            )
            break


def _unmerge(grid: Grid) -> None:
    """Every cell of a merged range takes the range's top-left value."""
    for merge in grid.merges:
        top = grid.rows[merge.min_row - 1] if merge.min_row <= len(grid.rows) else []
        value = top[merge.min_col - 1] if merge.min_col <= len(top) else ""
        for r in range(merge.min_row, merge.max_row + 1):
            if r > len(grid.rows):
                break
            row = grid.rows[r - 1]
            if len(row) < merge.max_col:
                row.extend([""] * (merge.max_col - len(row)))
            for c in range(merge.min_col, merge.max_col + 1):
                row[c - 1] = value
