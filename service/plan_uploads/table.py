"""An office plan sheet read as people lay it out: title rows, the header row, section rows, the tasks.

The header row is the first of the top rows that names a task column (重点任务, 任务内容 ...) and at least one
other known column; a second header row under it (责任单位 merged over 牵头 | 配合) refines the names. Rows
above it are the title (``株洲市2018年…`` gives the plan's city and year when the form leaves them blank) and
subtitles (填报单位, 日期).  Below it:

- a **section row** (``一、…`` / ``（一）…``; or one text merged across the table; or text in the first
  cells only with no unit) sets the section of the tasks under it: ``一、`` starts a section and clears
  the sub-section, ``（一）`` sets the sub-section;
- a **task row** gives one task; a 序号 merged over several rows gives sub-tasks ``2.1``, ``2.2`` ...;
  a row that only repeats the row above through merged cells is the same task and is skipped.

Nothing here touches the database: units and categories are checked against the register in
``preview``; what a cell says that cannot be a task's value is an :class:`Issue` with its row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from service.common.chinese_text import (
    CATEGORIES,
    DeadlineError,
    extract_deadline,
    extract_targets,
    read_deadline,
    short_title,
    split_units,
)
from service.plan_uploads.headers import LABELS, column_letter, field_of
from service.plan_uploads.sheet import Grid

HEADER_SCAN = 30  # the header row is among the first rows
SECTION = re.compile(
    r"^(?:(?P<top>[一二三四五六七八九十]+[、.．]|第[一二三四五六七八九十]+部分|附件\s*\d+)|(?P<sub>[（(][一二三四五六七八九十]+[)）]))"
)
CHINESE_NUMERAL = re.compile(r"^[一二三四五六七八九十]+[、.．]?$")
NOTE = re.compile(r"^(注|备注|说明|填表说明)\s*[:：]")
CITIES = ("株洲市", "长沙市", "湘潭市", "湖南省")
_CITY_IN_TITLE = re.compile(r"(株洲|长沙|湘潭)市?|湖南省")
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d\d)\s*年")


@dataclass(frozen=True)
class Issue:
    """One problem of the upload: where (sheet row, column) and why, in Chinese and in English."""

    row: int | None
    column: str | None
    zh: str
    en: str
    suggestions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "reason": self.en,
            "reason_zh": self.zh,
            "suggestions": list(self.suggestions),
        }


@dataclass
class Task:
    """One task as the sheet gives it (units still as written: the preview resolves them)."""

    row: int
    section: str
    number: str
    title: str
    task_text: str
    lead_units: list[str]
    responsible_units: list[str]
    deadline: date | None
    deadline_text: str | None
    category: str
    notes: str
    targets: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Sheet:
    title: str  # the title row's text ("" when the sheet has none)
    title_city: str | None
    title_year: int | None
    header_row: int
    columns: dict[str, list[int]]  # field -> 0-based column indexes
    headers: list[str]  # the header text of each column, as written
    tasks: list[Task] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers of columns not read

    def where(self, name: str) -> str:
        """``D（牵头单位）``: the column a field was read from, as the person sees it."""
        indexes = self.columns.get(name)
        if not indexes:
            return LABELS.get(name, name)
        index = indexes[0]
        header = self.headers[index] if index < len(self.headers) else ""
        return f"{column_letter(index)}（{header or LABELS.get(name, name)}）"


class NoHeader(Exception):
    """No header row among the first rows: what was expected, in Chinese and English."""

    zh = (
        f"前 {HEADER_SCAN} 行中找不到表头：需要一行同时有“重点任务”（或 主要任务、工作任务、任务内容）和"
        "“牵头单位”“责任单位”“完成时限”等列名"
    )
    en = (
        f"no header row in the first {HEADER_SCAN} rows: one row must name the task column (重点任务, 主要任务, "
        "工作任务, 任务内容 or task_text) and another known column (牵头单位, 责任单位, 完成时限 ...)"
    )


def text_of(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value or "")


def _header_fields(row: list[object]) -> dict[int, str]:
    return {i: f for i, v in enumerate(row) if (f := field_of(text_of(v)))}


def find_header(grid: Grid) -> int:
    """The 0-based index of the header row; NoHeader when none of the first rows is one."""
    for index, row in enumerate(grid.rows[:HEADER_SCAN]):
        fields = set(_header_fields(row).values())
        if fields & {"title", "task_text"} and len(fields) >= 2:
            return index
    raise NoHeader


def read_sheet(grid: Grid, year: int | None) -> Sheet:
    """The sheet's title, header and tasks; ``year`` (the plan's) dates the year-less deadlines."""
    header_index = find_header(grid)
    width = max((len(r) for r in grid.rows), default=0)
    header = [text_of(v) for v in grid.rows[header_index]] + [""] * width
    fields = _header_fields(grid.rows[header_index])
    first_data = header_index + 1
    if first_data < len(grid.rows):  # a second header row under the first (责任单位 over 牵头 | 配合)
        below = _header_fields(grid.rows[first_data])
        if len(below) >= 2 and not any(_is_number(text_of(v)) for v in grid.rows[first_data]):
            for index, name in below.items():
                fields[index] = name
                header[index] = text_of(grid.rows[first_data][index])
            first_data += 1
    header = header[:width]
    columns: dict[str, list[int]] = {}
    ignored: list[str] = []
    for index in sorted(fields):
        name = fields[index]
        if name in columns and name != "responsible_units":
            ignored.append(f"{column_letter(index)}（{header[index]}）")
            continue
        columns.setdefault(name, []).append(index)
    for index, text in enumerate(header):
        if text and index not in fields:
            ignored.append(f"{column_letter(index)}（{text}）")
    if "task_text" not in columns:  # one task column only: it holds the text, the title is cut from it
        columns["task_text"] = columns.pop("title")
    title, city, title_year = _title(grid, header_index)
    sheet = Sheet(title, city, title_year, header_index + 1, columns, header, ignored=ignored)
    sheet.notes.extend(grid.notes)
    _read_tasks(sheet, grid, first_data, year if year is not None else title_year)
    return sheet


def _title(grid: Grid, header_index: int) -> tuple[str, str | None, int | None]:
    lines: list[str] = []
    for row in grid.rows[:header_index]:
        values = list(dict.fromkeys(text_of(v) for v in row if text_of(v)))
        if values:
            lines.append(" ".join(values))
    title = next((line for line in lines if not re.match(r"^(附件|填报|日期|单位[:：])", line)), "")
    title = title or (lines[0] if lines else "")
    city_match = _CITY_IN_TITLE.search(title)
    city = None
    if city_match:
        city = "湖南省" if city_match.group(0) == "湖南省" else f"{city_match.group(1)}市"
    year_match = _YEAR_IN_TITLE.search(title)
    return title, city, int(year_match.group(1)) if year_match else None


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:[.．-]\d+)*", text.strip()))


def _value(sheet: Sheet, row: list[object], name: str) -> str:
    parts = [text_of(row[i]) for i in sheet.columns.get(name, []) if i < len(row) and text_of(row[i])]
    return "、".join(parts) if name == "responsible_units" else (parts[0] if parts else "")


def _raw(sheet: Sheet, row: list[object], name: str) -> object:
    indexes = sheet.columns.get(name, [])
    return row[indexes[0]] if indexes and indexes[0] < len(row) else ""


def _section_of(sheet: Sheet, row: list[object]) -> tuple[str, str] | None:
    """(level, text) when the row is a section row, else None."""
    filled = [(i, text_of(v)) for i, v in enumerate(row) if text_of(v)]
    if not filled:
        return None
    texts = list(dict.fromkeys(t for _, t in filled))
    unit_columns = set(sheet.columns.get("lead_units", []) + sheet.columns.get("responsible_units", []))
    first_unit_column = min(unit_columns) if unit_columns else len(row)
    number = _value(sheet, row, "number")
    if CHINESE_NUMERAL.match(number) and not _value(sheet, row, "lead_units"):
        rest = [t for t in texts if t != number]
        label = number if number.endswith(("、", ".", "．")) else f"{number}、"
        return "top", label + (rest[0] if rest else "")
    spanning = len(texts) == 1 and len(filled) >= 3
    first_cells_only = all(i < first_unit_column for i, _ in filled) and not any(
        text_of(row[i]) for i in unit_columns if i < len(row)
    )
    text = texts[0] if len(texts) == 1 else " ".join(texts)
    match = SECTION.match(text)
    if match and (spanning or first_cells_only):
        return ("sub" if match.group("sub") else "top"), text
    if spanning and not _is_number(text):
        return "top", text
    return None


def _read_tasks(sheet: Sheet, grid: Grid, first_data: int, year: int | None) -> None:
    top = sub = ""
    seen: dict[str, int] = {}
    previous: list[object] | None = None
    number_index = sheet.columns.get("number", [None])[0]
    sub_counts: dict[tuple[int, int], int] = {}
    running = 0
    for index in range(first_data, len(grid.rows)):
        row = grid.rows[index]
        row_number = index + 1
        if not any(text_of(v) for v in row):
            continue
        if _is_footnote(sheet, row):
            sheet.notes.append((f"第 {row_number} 行是表注，未作为任务读取", f"row {row_number} is a note, not a task"))
            continue
        section = _section_of(sheet, row)
        if section is not None:
            level, text = section
            if level == "top":
                top, sub = text, ""
            else:
                sub = text
            previous = None
            running = 0
            continue
        if previous is not None and row == previous and _all_merged(grid, row_number, row):
            continue  # the row above again, through merged cells only
        previous = row
        running += 1
        number = _value(sheet, row, "number")
        if number_index is not None:
            merge = grid.merge_at(row_number, number_index + 1)
            if merge is not None and merge.max_row > merge.min_row and number:
                key = (merge.min_row, merge.min_col)
                sub_counts[key] = sub_counts.get(key, 0) + 1
                number = f"{number}.{sub_counts[key]}"
        elif not number:
            number = str(running)
        section_name = f"{top} {sub}".strip()
        task = _task(sheet, row, row_number, section_name, number, year)
        if task is None:
            continue
        key = f"{section_name}/{task.number}"
        if task.number and key in seen:
            sheet.issues.append(
                Issue(
                    row_number,
                    sheet.where("number"),
                    f"序号“{task.number}”与第 {seen[key]} 行重复（同一部分内序号须唯一）",
                    f"number {task.number!r} repeats row {seen[key]} (numbers are unique within a section)",
                )
            )
            continue
        seen[key] = row_number
        sheet.tasks.append(task)


def _is_footnote(sheet: Sheet, row: list[object]) -> bool:
    """A note under the table (注：… / 说明：…): in the first cells naming no unit, or merged across the table."""
    filled = [text_of(v) for v in row if text_of(v)]
    units = _value(sheet, row, "lead_units") or _value(sheet, row, "responsible_units")
    spanning = len(set(filled)) == 1
    return bool(filled) and (spanning or not units) and NOTE.match(filled[0]) is not None


def _all_merged(grid: Grid, row_number: int, row: list[object]) -> bool:
    return all(not text_of(v) or grid.merge_at(row_number, i + 1) is not None for i, v in enumerate(row))


def _task(sheet: Sheet, row: list[object], row_number: int, section: str, number: str, year: int | None) -> Task | None:
    issues: list[Issue] = []

    def bad(name: str, zh: str, en: str, suggestions: tuple[str, ...] = ()) -> None:
        issues.append(Issue(row_number, sheet.where(name), zh, en, suggestions))

    title_cell = _value(sheet, row, "title") if "title" in sheet.columns else ""
    task_text = _value(sheet, row, "task_text") or title_cell
    if not task_text:
        bad("task_text", "任务内容为空", "the task is blank")
    if not number:
        bad("number", "缺少序号", "the number (序号) is blank")
    leads = split_units(_value(sheet, row, "lead_units"))
    if "lead_units" not in sheet.columns:
        bad("lead_units", "表中没有“牵头单位”列", "the sheet has no lead unit column (牵头单位)")
    elif not leads:
        bad("lead_units", "缺少牵头单位", "no lead unit")
    deadline, deadline_text = _deadline(sheet, row, task_text, year, bad)
    category = _value(sheet, row, "category")
    if category and category not in CATEGORIES:
        bad(
            "category",
            f"未知类别“{category}”",
            f"unknown category {category!r}",
            nearest_categories(category),
        )
    elif not category:
        category = infer_category(section, sheet.title)
    sheet.issues.extend(issues)
    if issues:
        return None
    return Task(
        row=row_number,
        section=section,
        number=number,
        title=title_cell if title_cell and title_cell != task_text else short_title(task_text),
        task_text=task_text,
        lead_units=leads,
        responsible_units=split_units(_value(sheet, row, "responsible_units")),
        deadline=deadline,
        deadline_text=deadline_text,
        category=category,
        notes=_value(sheet, row, "notes"),
        targets=extract_targets(task_text),
    )


def _deadline(sheet: Sheet, row: list[object], task_text: str, year: int | None, bad) -> tuple[date | None, str | None]:  # type: ignore[no-untyped-def]
    if "deadline" not in sheet.columns:  # no column: a deadline the task text names, in the plan's year
        if year is None:
            return None, None
        return extract_deadline(task_text, year)
    raw = _raw(sheet, row, "deadline")
    if isinstance(raw, date):  # an Excel date cell
        return raw, raw.isoformat()
    written = text_of(raw)
    if not written:
        return None, None
    try:
        found = read_deadline(written, year)
    except DeadlineError as exc:
        if not exc.needs_year:  # without the plan's year, the one problem is the year (preview.settle_answers)
            bad("deadline", exc.zh, exc.en)
        return None, None
    return found.on, found.text


def nearest_categories(written: str, limit: int = 3) -> tuple[str, ...]:
    """The categories closest to what was written (contained in it first, then by similarity)."""
    from rapidfuzz import fuzz

    contained = [c for c in CATEGORIES if c in written or written in c]
    ranked = sorted(CATEGORIES, key=lambda c: -fuzz.ratio(written, c))
    return tuple(dict.fromkeys(contained + ranked))[:limit]


def infer_category(section: str, title: str) -> str:
    """A category a section heading or the sheet's title names (``二、碧水蓝天行动`` → 碧水蓝天), else ""."""
    for text in (section, title):
        found = [c for c in CATEGORIES if c in text]
        if found:
            return max(found, key=len)
    return ""
