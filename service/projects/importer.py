"""Import a planner's spreadsheet (CSV or XLSX, the register's columns) with row-by-row validation.

Every bad row is reported with its spreadsheet row number, the column and the reason; nothing is
written when any row is bad unless ``skip_invalid`` is set.  Rows are upserted by key
(``plan/section/number`` unless a ``key`` column gives one), so re-importing updates in place.
Excel in China often saves CSV as GB18030: that is accepted, anything else undecodable is refused.
Cells are stripped of surrounding white space, except where that would make a formula of text
(``"\t=1+1"`` is kept as written; exports neutralise it, service.common.spreadsheet_safety).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.chinese_text import (
    CATEGORIES,
    DeadlineError,
    extract_targets,
    parse_targets_cell,
    read_deadline,
    split_units,
)
from service.common.spreadsheet_safety import imported_text
from service.common.spreadsheets import RowError, decode_csv
from service.projects.register import ProjectRecord, UpsertCounts, upsert_plans, upsert_projects

# the other register columns are optional: key, section, responsible_units, targets, deadline, deadline_text,
# year, notes, source
REQUIRED = ("plan", "number", "title", "task_text", "category", "lead_units")
MOJIBAKE = re.compile(r"[\ufffd]|Ã.|Â.|â€|æ[\x80-\xbf]|ç[\x80-\xbf]|è[\x80-\xbf]|é[\x80-\xbf]")
PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    imported: bool = False
    encoding: str = "utf-8"
    plans: set[str] = field(default_factory=set)
    geocoded: dict[str, str] = field(default_factory=dict)  # plan -> the geocoding run's summary, when asked
    units: str = ""  # how its tasks linked to the register of units (service.units)


class ImportRefused(Exception):
    """The file as a whole cannot be read (format, encoding, header)."""


def read_table(path: Path) -> tuple[list[dict[str, str]], str]:
    """Rows as dicts of stripped strings, and the encoding the file was read with."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path), "xlsx"
    if suffix not in (".csv", ".txt"):
        raise ImportRefused(f"{path.name}: unsupported file type '{suffix}'; give a .csv or .xlsx file")
    data = path.read_bytes()
    decoded = decode_csv(data)
    if decoded is None:
        raise ImportRefused(f"{path.name}: neither UTF-8 nor GB18030; save the spreadsheet as CSV UTF-8")
    content, encoding = decoded
    reader = csv.DictReader(io.StringIO(content, newline=""))
    rows = [{(k or "").strip(): imported_text(v or "") for k, v in row.items()} for row in reader]
    _check_header(path, reader.fieldnames or [])
    return rows, encoding.removesuffix("-sig")


def _read_xlsx(path: Path) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    book.close()
    if not values:
        raise ImportRefused(f"{path.name}: the first sheet is empty")
    header = [str(h).strip() if h is not None else "" for h in values[0]]
    _check_header(path, header)
    rows = []
    for raw in values[1:]:
        row = {}
        for name, value in zip(header, raw, strict=False):
            if isinstance(value, datetime):
                value = value.date()
            text_value = "" if value is None else imported_text(str(value))
            row[name] = value.isoformat() if isinstance(value, date) else text_value
        rows.append(row)
    return rows


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        readable = any(MOJIBAKE.search(h) for h in header)
        hint = " (the header looks mis-encoded: save as UTF-8)" if readable else ""
        raise ImportRefused(
            f"{path.name}: missing column(s) {', '.join(missing)}{hint}; expected {', '.join(REQUIRED)}"
        )


def parse_date(value: str) -> date:
    """``2018-06-30``, ``2018/6/30``, ``2018.6.30`` or ``2018年6月30日``."""
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", value.strip())
    if not m:
        raise ValueError(f"unparseable date '{value}'; write YYYY-MM-DD")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ValueError(f"unparseable date '{value}': {exc}") from exc


def validate_rows(
    rows: list[dict[str, str]], plan_years: Mapping[str, int] | None = None
) -> tuple[list[tuple[int, ProjectRecord]], list[RowError]]:
    """Check every row; returns the good records (with their row numbers) and every error found.

    A deadline written without a year (``年底前``, ``6月底``) is read in the row's ``year``, else in the year of
    its plan as the register has it (``plan_years``); with neither the row is reported, never dated in the
    current year.  A new plan needs a ``year`` on at least one of its rows.
    """
    plan_years = plan_years or {}
    good: list[tuple[int, ProjectRecord]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue  # a blank line in the sheet
        row_errors: list[RowError] = []

        def bad(column: str, reason: str, row_number: int = index, sink: list[RowError] = row_errors) -> None:
            sink.append(RowError(row_number, column, reason))

        for column, value in row.items():
            if value and MOJIBAKE.search(value):
                bad(column, "text looks mis-encoded (wrong encoding); save the file as UTF-8")
        for column in REQUIRED:
            if not row.get(column):
                bad(column, "missing lead unit" if column == "lead_units" else f"missing {column}")
        plan = row.get("plan", "")
        if plan and not PLAN_ID.match(plan):
            bad("plan", f"plan id '{plan}' must be lower-case letters, digits and dashes")
        category = row.get("category", "")
        if category and category not in CATEGORIES:
            bad("category", f"unknown category '{category}'; one of {'、'.join(CATEGORIES)}")
        year = None
        if row.get("year"):
            try:
                year = int(float(row["year"]))
                if not 1990 <= year <= 2100:
                    raise ValueError
            except ValueError:
                bad("year", f"year '{row['year']}' is not a year between 1990 and 2100")
                year = None
        deadline = None
        if row.get("deadline"):
            try:
                deadline = parse_date(row["deadline"])
            except ValueError as exc:
                bad("deadline", str(exc))
        elif row.get("deadline_text"):
            try:
                deadline = read_deadline(row["deadline_text"], year or plan_years.get(plan)).on
            except DeadlineError as exc:
                bad("deadline_text", f"{exc.en}; give a year column, or deadline as YYYY-MM-DD")
        targets: list[dict[str, object]] = []
        try:
            targets = parse_targets_cell(row.get("targets", "")) if row.get("targets") else []
        except ValueError as exc:
            bad("targets", str(exc))
        key = row.get("key") or "/".join(p for p in (plan, row.get("section", ""), row.get("number", "")) if p)
        if key in seen:
            bad("number", f"duplicate number '{row.get('number')}' for {key} (also row {seen[key]})")
        else:
            seen[key] = index
        if row_errors:
            errors += row_errors
            continue
        task = row["task_text"]
        good.append(
            (
                index,
                ProjectRecord(
                    plan=plan,
                    key=key,
                    section=row.get("section", ""),
                    number=row["number"],
                    title=row["title"],
                    task_text=task,
                    category=category,
                    lead_units=split_units(row["lead_units"]),
                    responsible_units=split_units(row.get("responsible_units", "")),
                    targets=targets or extract_targets(task),
                    deadline=deadline,
                    deadline_text=row.get("deadline_text") or None,
                    year=year,
                    source=row.get("source", ""),
                    notes=row.get("notes", ""),
                ),
            )
        )
    # a new plan's year is never guessed from today's date: without one, its rows are reported
    yearless = {r.plan for _, r in good if r.plan not in plan_years} - {r.plan for _, r in good if r.year}
    for plan in sorted(yearless):
        first = next(i for i, r in good if r.plan == plan)
        errors.append(RowError(first, "year", f"plan '{plan}' is new and no row gives its year: add a year column"))
    good = [(i, r) for i, r in good if r.plan not in yearless]
    return good, errors


def known_plan_years(session: Session) -> dict[str, int]:
    """The year of every plan the register holds (what a year-less deadline of its rows is read in)."""
    return {row.id: row.year for row in session.execute(text("SELECT id, year FROM plans"))}


def check_file(path: Path, plan_years: Mapping[str, int] | None = None) -> tuple[ImportReport, list[ProjectRecord]]:
    """Read and validate the whole file: the report (rows, errors, encoding) and the good records."""
    rows, encoding = read_table(path)
    good, errors = validate_rows(rows, plan_years)
    return ImportReport(rows=len(rows), errors=errors, encoding=encoding), [r for _, r in good]


REGIONAL = "全省"  # the city given for a provincial or Chang-Zhu-Tan-wide plan: it has none of its own


def known_cities(session: Session) -> list[str]:
    return list(
        session.execute(text("SELECT DISTINCT city FROM districts WHERE city IS NOT NULL ORDER BY 1")).scalars()
    )


def upsert_records(session: Session, records: list[ProjectRecord], city: str | None = None) -> UpsertCounts:
    """Upsert the records, creating a plan row for a plan the register does not know yet (caller commits).

    A new plan needs its city (issue 19): without one, every task naming no place fell back to the provincial
    government.  ``city`` is a city of the districts layer, or REGIONAL for a provincial or regional plan;
    a new plan without it is refused (ImportRefused) before anything is written."""
    plans = {r.plan for r in records}
    known = set(session.execute(text("SELECT id FROM plans WHERE id = ANY(:ids)"), {"ids": list(plans)}).scalars())
    new = sorted(plans - known)
    if new and city is None:
        raise ImportRefused(
            f"计划 {'、'.join(new)} 是新计划：请用 --city 指明所属城市（如 --city 株洲市；全省或长株潭范围的计划用"
            f" --city {REGIONAL}） / plan {', '.join(new)} is new: name its city with --city (e.g. 株洲市; {REGIONAL}"
            " for a provincial or regional plan)"
        )
    cities = known_cities(session) if new and city != REGIONAL else []
    if new and city != REGIONAL and city not in cities:
        raise ImportRefused(
            f"城市“{city}”不在区县图层中 / city {city!r} is not one of {', '.join(cities)} or {REGIONAL}"
        )
    new_plans = []
    for plan in new:
        years = [r.year for r in records if r.plan == plan and r.year]
        if not years:  # validate_rows reports such a plan: its year is never guessed from today's date
            raise ValueError(f"plan {plan!r} is new and none of its rows gives a year")
        new_plans.append({"id": plan, "title": plan, "year": min(years), "city": None if city == REGIONAL else city})
    upsert_plans(session, new_plans)
    return upsert_projects(session, records)
