"""A milestone sheet (节点计划表) read into milestones per task: CSV (UTF-8 / GB18030) or XLSX, one row a milestone.

Columns (Chinese or English headers): 项目编号 / project_key (or project_id), 节点 / name, 日期 / due,
计划比例 / planned_percent (80%, 80 or 0.8), 须已开工 / starts_work (是 / 否, blank: 否).  Every problem is
named with its row; the caller writes nothing when there is one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from service.common.percent import PercentError, parse_percent
from service.common.spreadsheet_safety import imported_text
from service.common.spreadsheets import RowError, decode_csv
from service.milestones.backward import Milestone

ALIASES = {
    "project_key": ("project_key", "项目编号", "任务编号", "key"),
    "project_id": ("project_id", "项目id", "任务id", "id"),
    "name": ("name", "节点", "节点名称", "milestone"),
    "due": ("due", "日期", "节点日期", "完成日期", "date"),
    "planned_percent": ("planned_percent", "计划比例", "计划完成比例", "percent"),
    "starts_work": ("starts_work", "须已开工", "开工节点"),
}
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"", "否", "n", "no", "false", "0"}


CellText = Callable[[Any, "str | None"], str]  # (value, number format) -> text


class SheetRefused(Exception):
    """The file as a whole cannot be read (type, encoding, header)."""


@dataclass
class SheetRows:
    """Milestones by task reference (``key:...`` or ``id:...``) and the problems found."""

    by_task: dict[str, list[Milestone]] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)  # the sheet rows of each task's milestones
    errors: list[RowError] = field(default_factory=list)


def _table(name: str, data: bytes, cell_text: CellText) -> tuple[list[str], list[list[str]]]:
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise SheetRefused(f"{name}: 不是可读的 XLSX 工作簿 / not a readable XLSX workbook ({exc})") from exc
        try:
            rows = [
                [cell_text(c.value, getattr(c, "number_format", None)) for c in r]
                for r in book.worksheets[0].iter_rows()
            ]
        finally:
            book.close()
    elif suffix in (".csv", ".txt"):
        decoded = decode_csv(data)
        if decoded is None:
            raise SheetRefused(f"{name}: 既不是 UTF-8 也不是 GB18030 / neither UTF-8 nor GB18030")
        rows = list(csv.reader(io.StringIO(decoded[0], newline="")))
    else:
        raise SheetRefused(f"{name}: 只接受 .csv 或 .xlsx / give a .csv or .xlsx file, not {suffix!r}")
    if not rows:
        raise SheetRefused(f"{name}: 文件是空的 / the file is empty")
    return [h.strip().lower() for h in rows[0]], rows[1:]


def read_sheet(name: str, data: bytes, cell_text: CellText) -> SheetRows:
    """The sheet's milestones grouped by task, with every bad row named.  ``cell_text``: the progress import's
    ``xlsx_text``, so a percent-formatted cell reads as every other sheet of the project reads it."""
    header, body = _table(name, data, cell_text)
    canonical = {alias.lower(): key for key, aliases in ALIASES.items() for alias in aliases}
    names = [canonical.get(h, h) for h in header]
    if "project_key" not in names and "project_id" not in names:
        raise SheetRefused(f"{name}: 需要“项目编号”或 project_id 列 / needs a project_key or project_id column")
    missing = [c for c in ("name", "due", "planned_percent") if c not in names]
    if missing:
        raise SheetRefused(f"{name}: 缺少列 / missing column(s) {', '.join(missing)}")
    out = SheetRows()
    for n, raw in enumerate(body, start=2):
        row = {k: imported_text(v or "") for k, v in zip(names, raw, strict=False)}
        if not any(row.values()):
            continue
        ref = f"key:{row['project_key']}" if row.get("project_key") else f"id:{row.get('project_id', '')}"
        if ref in ("key:", "id:"):
            out.errors.append(RowError(n, "project_key", "没有项目编号 / no task named"))
            continue
        try:
            due = date.fromisoformat(row["due"])
        except ValueError:
            out.errors.append(RowError(n, "due", f"日期“{row['due']}”不是 YYYY-MM-DD / not a date"))
            continue
        try:
            percent = parse_percent(row["planned_percent"])
        except PercentError as exc:
            out.errors.append(RowError(n, "planned_percent", str(exc)))
            continue
        starts = (row.get("starts_work") or "").lower()
        if starts not in YES | NO:
            out.errors.append(RowError(n, "starts_work", f"须已开工填“是”或“否”，不是“{starts}” / yes or no"))
            continue
        if percent is None:
            out.errors.append(RowError(n, "planned_percent", "计划比例必填 / planned percent is required"))
            continue
        out.by_task.setdefault(ref, []).append(Milestone(row["name"], due, percent, starts in YES))
        out.rows.setdefault(ref, []).append(n)
    return out
