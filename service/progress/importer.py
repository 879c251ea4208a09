"""Import monthly progress reports from a spreadsheet (CSV or XLSX), validated row by row.

Columns (English or the Chinese a planner's sheet uses): project_key or project_id (项目编号 / 项目ID),
period (月份), status (状态), percent (完成比例), investment_wan (完成投资), note (备注), done_geom
(完成范围: WKT or GeoJSON, EPSG:4326).  Every row goes through the same checks as
``POST /projects/{id}/progress``; every bad row is reported with its spreadsheet row number (the header
is row 1), the column and the reason; ``service.progress.usecases.import_reports`` writes nothing when
any row is bad unless ``skip_invalid`` is set.  Reports are appended (history is never overwritten).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from shapely import wkt
from shapely.errors import ShapelyError
from shapely.geometry import mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.geometry_guard import check_json_depth, check_shapely, check_wkt_text
from service.common.percent import PercentError, parse_percent
from service.common.spreadsheet_safety import imported_text
from service.common.spreadsheets import RowError, decode_csv
from service.errors import Problem
from service.progress.report_input import ReportIn
from service.progress.reports import add_report

ALIASES = {
    "project_key": ("project_key", "key", "项目编号", "项目键"),
    "project_id": ("project_id", "id", "项目ID", "项目id"),
    "period": ("period", "月份", "报告期", "报告月份"),
    "status": ("status", "状态", "进展状态"),
    "percent": ("percent", "完成比例", "完成百分比", "进度"),
    "investment_wan": ("investment_wan", "完成投资", "完成投资（万元）", "完成投资(万元)"),
    "note": ("note", "备注", "进展情况"),
    "behind_reason": ("behind_reason", "滞后原因"),
    "behind_category": ("behind_category", "滞后原因类别"),
    "done_geom": ("done_geom", "完成范围", "done_wkt"),
}


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


class ImportRefused(Exception):
    """The file as a whole cannot be read (type, encoding, header)."""


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows as dicts keyed by canonical column names, values stripped strings."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        header, raw_rows = _read_xlsx(path)
    elif suffix in (".csv", ".txt"):
        data = path.read_bytes()
        decoded = decode_csv(data)
        if decoded is None:
            raise ImportRefused(f"{path.name}: neither UTF-8 nor GB18030; save the spreadsheet as CSV UTF-8")
        content = decoded[0]
        table = list(csv.reader(io.StringIO(content, newline="")))
        if not table:
            raise ImportRefused(f"{path.name}: the file is empty")
        header, raw_rows = [h.strip() for h in table[0]], table[1:]
    else:
        raise ImportRefused(f"{path.name}: unsupported file type '{suffix}'; give a .csv or .xlsx file")
    canonical = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    names = [canonical.get(h, canonical.get(h.lower(), h)) for h in header]
    if "project_key" not in names and "project_id" not in names:
        raise ImportRefused(f"{path.name}: needs a project_key (项目编号) or project_id column")
    missing = [c for c in ("period", "status", "percent") if c not in names]
    if missing:
        raise ImportRefused(f"{path.name}: missing column(s) {', '.join(missing)}")
    # stripped, but never into a formula: "\t=1+1" stays as written (service.common.spreadsheet_safety)
    return [{name: imported_text(value or "") for name, value in zip(names, raw, strict=False)} for raw in raw_rows]


def _read_xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    """The first sheet as text; a percent column is read by its cells' number format (decision 0175):
    a cell formatted as a percentage holds the fraction (80 % is 0.8) and becomes the text ``80%``."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    try:
        rows = [[(c.value, getattr(c, "number_format", None)) for c in row] for row in book.worksheets[0].iter_rows()]
    finally:
        book.close()
    if not rows:
        raise ImportRefused(f"{path.name}: the first sheet is empty")
    header = [xlsx_text(value).strip() for value, _ in rows[0]]
    return header, [[xlsx_text(value, number_format) for value, number_format in row] for row in rows[1:]]


def xlsx_text(value: Any, number_format: str | None = None) -> str:
    """An XLSX cell as the text the row checks read: dates ISO, a percent-formatted number as ``N%``.

    A number in a cell whose format contains ``%`` is the fraction Excel keeps (0.8 shows as 80 %):
    ``parse_percent(..., percent_format=True)`` reads it, and the row gets the explicit ``80%`` so every
    later reading agrees (the monthly sheet's reader uses this too).
    """
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and number_format and "%" in number_format:
        try:
            number = parse_percent(value, percent_format=True)
        except PercentError:
            number = round(float(value) * 100, 6)  # out of range: the row check says so, as written
        return f"{number:g}%" if number is not None else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _geometry(value: str) -> dict[str, Any]:
    """The cell as a GeoJSON geometry; nesting (and WKT's vertex count) bounded before a parser sees it."""
    if value.lstrip().startswith("{"):
        check_json_depth(value, "done_geom")
        return json.loads(value)
    check_wkt_text(value, "done_geom")
    geom = wkt.loads(value)
    check_shapely(geom, "done_geom")  # before mapping() turns it into a nested Python structure
    return dict(mapping(geom))


def _number(value: str) -> float | None:
    return float(value.replace(",", "").replace("，", "")) if value else None


def report_from_row(row: dict[str, str], index: int) -> tuple[ReportIn | None, list[RowError]]:
    """Validate one row (canonical column names, text values) into a report body, collecting every problem
    with its column; the reasons are Chinese and English ("中文 / English").  The monthly sheet's reader
    checks its rows with this too."""
    errors: list[RowError] = []
    # the percent as written (80%, 80, 0.8): ReportIn reads it with parse_percent, like every other path
    body: dict[str, Any] = {
        "period": row.get("period", ""),
        "status": row.get("status", ""),
        "percent": row.get("percent") or None,
    }
    try:
        body["investment_wan"] = _number(row.get("investment_wan", ""))
    except ValueError:
        written = row["investment_wan"]
        errors.append(RowError(index, "investment_wan", f"“{written}”不是数字 / '{written}' is not a number"))
    for column in ("note", "behind_reason", "behind_category"):
        if row.get(column):
            body[column] = row[column]
    if row.get("done_geom"):
        try:
            body["done_geom"] = _geometry(row["done_geom"])
        except Problem as exc:
            errors.append(RowError(index, "done_geom", exc.detail))
        except (ValueError, ShapelyError) as exc:
            errors.append(RowError(index, "done_geom", f"既不是 WKT 也不是 GeoJSON / neither WKT nor GeoJSON: {exc}"))
    if errors:
        return None, errors
    try:
        return ReportIn.model_validate(body), []
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else "row"
            errors.append(RowError(index, column, bilingual(err)))
        return None, errors


# pydantic's own checks, said in Chinese too (ours already are: "中文 / English")
_CHINESE = {
    "missing": "未填写",
    "float_parsing": "不是数字",
    "float_type": "不是数字",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "string_too_long": "超过 {max_length} 字",
    "extra_forbidden": "不是可填写的列",
}


def bilingual(err: Any) -> str:
    """One validation error as "中文 / English"."""
    english = str(err["msg"]).removeprefix("Value error, ")
    if " / " in english:
        return english
    chinese = _CHINESE.get(str(err.get("type")), "填写有误")
    return f"{chinese.format(**(err.get('ctx') or {}))} / {english}"


def _project_ids(session: Session, rows: list[dict[str, str]]) -> dict[str, int]:
    keys = [r["project_key"] for r in rows if r.get("project_key")]
    found = session.execute(text("SELECT key, id FROM projects WHERE key = ANY(:keys)"), {"keys": keys})
    ids = {key: ident for key, ident in found}
    numbers = [int(r["project_id"]) for r in rows if r.get("project_id", "").isdigit()]
    for (ident,) in session.execute(text("SELECT id FROM projects WHERE id = ANY(:ids)"), {"ids": numbers}):
        ids[str(ident)] = ident
    return ids


def import_reports(session: Session, path: Path, actor: str) -> ImportResult:
    """Validate every row and append the good ones in ``session`` (each in a savepoint); never commits.

    The caller (``service.progress.usecases.import_reports``) commits, or rolls back when a row is bad.
    """
    rows = read_table(path)
    result = ImportResult()
    ids = _project_ids(session, rows)
    seen: dict[tuple[int, str], int] = {}
    for index, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        result.rows += 1
        reference = row.get("project_key") or row.get("project_id", "")
        column = "project_key" if row.get("project_key") else "project_id"
        project_id = ids.get(reference)
        report, errors = report_from_row(row, index)
        if project_id is None:
            errors.insert(
                0,
                RowError(
                    index, column, f"没有任务“{reference}” / no project '{reference}'" if reference else "空 / empty"
                ),
            )
        if report is not None and project_id is not None:
            duplicate = seen.get((project_id, report.period.isoformat()))
            if duplicate:
                errors.append(
                    RowError(
                        index,
                        "period",
                        f"与第 {duplicate} 行任务和月份相同 / same project and month as row {duplicate}",
                    )
                )
            seen[(project_id, report.period.isoformat())] = index
        if not errors and report is not None and project_id is not None:
            try:
                with session.begin_nested():
                    add_report(session, project_id, report, actor)
                result.imported += 1
            except Problem as exc:
                where = str(exc.extra.get("pointer", "/row")).strip("/") or "row"
                errors.append(RowError(index, where, exc.detail))
        result.errors.extend(errors)
    return result
