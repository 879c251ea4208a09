"""The evaluation's workbook, ``report.xlsx`` (docs/evaluations.md): the report's tables, one sheet each, and
every task, drawn from the frozen snapshot only.

Why it is written the way it is:

- it is made on first download and stored, and a planner compares it with last quarter's, so the same
  snapshot must give the same bytes: the document's created time is the evaluation's ``created_at`` (not
  now), and XlsxWriter's ``in_memory`` mode stamps every zip member 1980-01-01 (its on-disk mode stamps
  local time and the temporary files' permissions, so it is not used; nor, therefore, ``constant_memory``,
  which XlsxWriter turns off in memory);
- text is never a formula: every text cell goes through service.common.spreadsheet_safety (a task named
  ``=HYPERLINK(...)`` stays text), and the workbook is opened with ``strings_to_formulas`` off too;
- dates are Excel dates and percents numbers with a percent format, so the evaluator can sort, filter and
  sum without retyping; percents (0-100 in the snapshot) are written as fractions, as the ledger does;
- the column headers of the task sheets and the 字段说明 sheet come from the package's field reference
  (service.evaluations.package), so the workbook and README.txt name each field the same way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from service.common.derived_status import BEHIND_CLASSES, SCHEDULE_CLASSES
from service.common.spreadsheet_safety import xlsxwriter_cell
from service.evaluations.package import CASE_FIELDS, FIELD_SECTIONS, TASK_FIELDS, ordered_weights, score_parts

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Kind = Literal["text", "int", "number", "percent", "fraction", "date", "month", "datetime"]
# widths (Excel character units) for the kinds whose width does not depend on the text
FIXED_WIDTHS: dict[str, int] = {
    "int": 9,
    "number": 10,
    "percent": 10,
    "fraction": 10,
    "date": 12,
    "month": 10,
    "datetime": 17,
}
MAX_WIDTH = 60
MIN_WIDTH = 6
WIDTH_SAMPLE = 2000  # rows looked at to size a text column; enough for a sensible width, cheap at 10,000 tasks

# the kind of each task field of docs/evaluations.md
TASK_KINDS: dict[str, Kind] = {
    "no": "int",
    "project_id": "int",
    "precision": "int",
    "percent": "percent",
    "planned_pct": "percent",
    "next_due": "date",
    "deadline": "date",
    "reported_period": "month",
}
BEHIND_KEYS = (
    "no",
    "title",
    "lead_units",
    "category",
    "district",
    "status",
    "delay_label",
    "percent",
    "planned_pct",
    "due_milestone",
    "next_milestone",
    "next_due",
    "deadline",
    "behind_category",
    "behind_reason",
)
CASE_KEYS = ("open", "overdue", "closed", "withdrawn", "due", "closed_on_time", "violations")
CASE_LABELS: dict[str, str] = {f.key: f.name for f in CASE_FIELDS}
GROUP_SHEETS = (
    ("按单位", "unit", "单位"),
    ("按类别", "category", "类别"),
    ("按区县", "district", "区县"),
    ("按计划", "plan", "计划"),
)


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"
    width: int | None = None  # None: from the header and the values


def _display_width(text: str) -> int:
    """Excel column units a text needs: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@lru_cache(maxsize=4096)
def _as_datetime(value: str, kind: str) -> dt.datetime | None:
    """A date string as the naive datetime XlsxWriter writes (a zone is dropped: the time stays as written,
    China time); None when it is not one, and the cell is then written as the text it is."""
    try:
        if kind == "datetime":
            moment = dt.datetime.fromisoformat(value)
            return moment.replace(tzinfo=None)
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """A cell's text: lists (lead units) joined with 、, mappings as compact JSON."""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class _Report:
    """The workbook with its formats and the few ways a cell is written."""

    def __init__(self, out: io.BytesIO) -> None:
        self.book: Workbook = xlsxwriter.Workbook(
            out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        add = self.book.add_format
        self.header = add({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        self.bold = add({"bold": True})
        self.formats: dict[str, Any] = {
            "text": None,
            "int": add({"num_format": "0"}),
            "number": add({"num_format": "0.00"}),
            "percent": add({"num_format": "0.0%"}),
            "fraction": add({"num_format": "0.0%"}),
            "date": add({"num_format": "yyyy-mm-dd"}),
            "month": add({"num_format": "yyyy-mm"}),
            "datetime": add({"num_format": "yyyy-mm-dd hh:mm"}),
        }

    def cell(self, sheet: Worksheet, row: int, col: int, value: Any, kind: Kind = "text") -> None:
        """One cell by kind; empty values leave the cell blank, a value of the wrong type is written as text."""
        if value is None or value == "" or value == []:
            return
        if kind in ("date", "month", "datetime") and isinstance(value, str):
            moment = _as_datetime(value, kind)
            if moment is not None:
                sheet.write_datetime(row, col, moment, self.formats[kind])
                return
        elif kind in ("int", "number", "fraction") and _is_number(value):
            sheet.write_number(row, col, value, self.formats[kind])
            return
        elif kind == "percent" and _is_number(value):
            # as a fraction, rounded so 56.49 is 0.5649 and not 0.5649000000000001
            sheet.write_number(row, col, round(value / 100, 6), self.formats[kind])
            return
        elif kind == "text" and _is_number(value):
            sheet.write_number(row, col, value)
            return
        xlsxwriter_cell(sheet, row, col, _text(value))  # never a formula

    def table(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any]],
        top: Sequence[Sequence[Any]] = (),
    ) -> Worksheet:
        """A sheet of one table: optional lines above it, a bold frozen header, widths, an autofilter."""
        sheet = self.book.add_worksheet(name)
        for row, line in enumerate(top):
            for col, value in enumerate(line):
                self.cell(sheet, row, col, value)
        head = len(top)
        for col, column in enumerate(columns):
            sheet.write_string(head, col, column.header, self.header)
        widths = [_display_width(c.header) + 2 for c in columns]
        row = head + 1
        for values in rows:
            for col, (column, value) in enumerate(zip(columns, values, strict=True)):
                self.cell(sheet, row, col, value, column.kind)
                if column.kind == "text" and column.width is None and row - head <= WIDTH_SAMPLE and value is not None:
                    widths[col] = max(widths[col], _display_width(_text(value)) + 2)
            row += 1
        for col, column in enumerate(columns):
            width = column.width or max(widths[col], FIXED_WIDTHS.get(column.kind, 0))
            sheet.set_column(col, col, min(max(width, MIN_WIDTH), MAX_WIDTH))
        sheet.freeze_panes(head + 1, 0)
        sheet.autofilter(head, 0, max(row - 1, head), len(columns) - 1)
        return sheet


def _summary(report: _Report, snapshot: dict[str, Any]) -> None:
    """概要: the evaluation, what it was computed from, the summary figures and the cases' totals."""
    evaluation = snapshot.get("evaluation") or {}
    basis = snapshot.get("basis") or {}
    summary = snapshot.get("summary") or {}
    cases = snapshot.get("cases") or {}
    rule = (snapshot.get("scoreboard") or {}).get("rule") or {}
    scope = evaluation.get("scope") or {}
    sheet = report.book.add_worksheet("概要")
    for col, header in enumerate(("项目", "内容", "占比")):
        sheet.write_string(0, col, header, report.header)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 70)
    sheet.set_column(2, 2, 10)
    row = 1

    def section(title: str) -> None:
        nonlocal row
        row += 1 if row > 1 else 0
        sheet.write_string(row, 0, title, report.bold)
        row += 1

    def line(label: str, value: Any, kind: Kind = "text", share: float | None = None) -> None:
        nonlocal row
        xlsxwriter_cell(sheet, row, 0, label)
        report.cell(sheet, row, 1, value, kind)
        if share is not None:
            report.cell(sheet, row, 2, share, "fraction")
        row += 1

    section("评估")
    line("标题", evaluation.get("title"))
    line("类型", evaluation.get("kind_label"))
    line("期间", evaluation.get("period"))
    line("截至日期", evaluation.get("as_of"), "date")
    plan = scope.get("plan_title") or ""
    line("范围", f"{plan}（{scope['plan_id']}）" if scope.get("plan_id") is not None else plan)
    line("制作时间", evaluation.get("created_at"), "datetime")
    line("制作人", evaluation.get("created_by"))

    section("计算依据")
    line("数据版本", basis.get("data_version"))
    line("滞后容差（百分点）", basis.get("delay_threshold_pct"), "number")
    for path, sha in sorted((basis.get("rules") or {}).items()):
        line(f"规则文件 {path}", sha)
    line("考核规则", rule.get("name"))
    line("考核规则版本", rule.get("version"))
    line("考核规则 SHA-256", rule.get("sha256"))
    line("软件", basis.get("software"))
    wall_map = snapshot.get("wall_map") or {}
    if wall_map.get("sha256"):
        line("挂图 SHA-256", wall_map["sha256"])

    section("汇总")
    projects = summary.get("projects")
    by_status = summary.get("by_status") or {}
    line("任务数", projects, "int")
    for status in SCHEDULE_CLASSES:
        count = by_status.get(status, 0)
        line(status, count, "int", count / projects if projects else None)
    delayed = summary.get("delayed")
    line(
        "滞后合计（已开工进展缓慢 + 应开工未开工）",
        delayed,
        "int",
        delayed / projects if projects and _is_number(delayed) else None,
    )
    line("完成率", summary.get("completion_rate"), "fraction")
    line("平均进度", summary.get("mean_percent"), "percent")
    if summary.get("investment_wan") is not None:
        line("投资（万元）", summary["investment_wan"], "number")

    section("案件")
    totals = cases.get("totals") or {}
    for key in [k for k in CASE_KEYS if k in totals] + sorted(k for k in totals if k not in CASE_KEYS):
        line(CASE_LABELS.get(key, key), totals[key], "int")
    closing = cases.get("time_to_close") or {}
    line("已销号（计销号用时）", closing.get("closed"), "int")
    line("销号用时中位数（天）", closing.get("median_days"), "number")
    line("销号用时平均数（天）", closing.get("mean_days"), "number")


def _groups(report: _Report, snapshot: dict[str, Any]) -> None:
    """按单位, 按类别, 按区县, 按计划: the counts by class, the behind total, the completion rate and mean."""
    groups = snapshot.get("groups") or {}
    for name, key, label in GROUP_SHEETS:
        rows = groups.get(key) or []
        columns = [Column(label)]
        if key == "plan":
            columns.append(Column("计划名称"))
        columns += [Column("任务数", "int")]
        columns += [Column(status, "int") for status in SCHEDULE_CLASSES]
        columns += [Column("滞后合计", "int"), Column("完成率", "fraction"), Column("平均进度", "percent")]

        def values(group: dict[str, Any], plan: bool = key == "plan") -> list[Any]:
            by_status = group.get("by_status") or {}
            head = [group.get("key")] + ([group.get("title")] if plan else [])
            return [
                *head,
                group.get("projects"),
                *(by_status.get(status, 0) for status in SCHEDULE_CLASSES),
                group.get("delayed"),
                group.get("completion_rate"),
                group.get("mean_percent"),
            ]

        report.table(name, columns, (values(g) for g in rows))


def _scoreboard(report: _Report, snapshot: dict[str, Any]) -> None:
    """考核得分: the rule on a top line, then each unit's rank, score and every part of the rule's, in the
    order the snapshot lists them (a new part in the rule is a new set of columns, not a code change)."""
    scoreboard = snapshot.get("scoreboard") or {}
    rule = scoreboard.get("rule") or {}
    units = scoreboard.get("units") or []
    parts = score_parts(snapshot)
    weight_text = "，".join(f"{label} {weight}" for _, label, weight in ordered_weights(snapshot))
    top = [
        ["考核规则", rule.get("name"), "版本", rule.get("version"), "SHA-256", rule.get("sha256"), "权重", weight_text]
    ]
    columns = [Column("名次", "int"), Column("单位"), Column("得分", "number")]
    for label in parts.values():
        columns += [
            Column(f"{label}权重", "number"),
            Column(f"{label}得分率", "fraction"),
            Column(f"{label}得分", "number"),
            Column(f"{label}依据"),
        ]

    def values(unit: dict[str, Any]) -> list[Any]:
        by_part = {p.get("part"): p for p in unit.get("parts") or []}
        cells = [unit.get("rank"), unit.get("unit"), unit.get("score")]
        for code in parts:
            part = by_part.get(code) or {}
            cells += [part.get("weight"), part.get("value"), part.get("points"), part.get("basis")]
        return cells

    report.table("考核得分", columns, (values(u) for u in units), top=top)


def _task_columns(keys: Iterable[str]) -> tuple[list[str], list[Column]]:
    names = {f.key: f.name for f in TASK_FIELDS}
    keys = list(keys)
    return keys, [Column(names.get(k, k), TASK_KINDS.get(k, "text")) for k in keys]


def _tasks(report: _Report, snapshot: dict[str, Any]) -> None:
    """滞后及应开工未开工 (the tasks the report lists with their reasons) and 全部任务 (every field)."""
    tasks = snapshot.get("tasks") or []
    keys, columns = _task_columns(BEHIND_KEYS)
    behind = (t for t in tasks if t.get("status") in BEHIND_CLASSES)
    report.table("滞后及应开工未开工", columns, ([t.get(k) for k in keys] for t in behind))
    keys, columns = _task_columns(f.key for f in TASK_FIELDS)
    report.table("全部任务", columns, ([t.get(k) for k in keys] for t in tasks))


def _cases(report: _Report, snapshot: dict[str, Any]) -> None:
    """案件: each unit's register figures, the time to close on the line above."""
    cases = snapshot.get("cases") or {}
    closing = cases.get("time_to_close") or {}
    top = [
        [
            "销号用时",
            "已销号",
            closing.get("closed"),
            "中位数（天）",
            closing.get("median_days"),
            "平均数（天）",
            closing.get("mean_days"),
        ]
    ]
    columns = [Column("单位")] + [Column(CASE_LABELS[k], "int") for k in CASE_KEYS]
    rows = ([u.get("unit")] + [u.get(k) for k in CASE_KEYS] for u in cases.get("by_unit") or [])
    report.table("案件", columns, rows, top=top)


def _fields(report: _Report) -> None:
    """字段说明: the field reference of README.txt (service.evaluations.package.FIELD_SECTIONS)."""
    columns = [Column("部分", width=36), Column("字段"), Column("中文名"), Column("英文")]
    columns.append(Column("说明", width=MAX_WIDTH))
    rows = (
        [f"{section.title}（{section.english}）", f.key, f.name, f.english, f.meaning]
        for section in FIELD_SECTIONS
        for f in section.fields
    )
    report.table("字段说明", columns, rows)


def _properties(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Document properties; ``created`` from the evaluation (UTC, as XlsxWriter writes it with a Z), never now."""
    evaluation = snapshot.get("evaluation") or {}
    basis = snapshot.get("basis") or {}
    try:
        created = dt.datetime.fromisoformat(str(evaluation.get("created_at")))
    except ValueError:
        created = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))  # China time, as the snapshot keeps it
    created = created.astimezone(dt.UTC).replace(tzinfo=None)
    return {
        "title": str(evaluation.get("title") or ""),
        "subject": f"{evaluation.get('kind_label') or ''} {evaluation.get('period') or ''} 截至 "
        f"{evaluation.get('as_of') or ''}".strip(),
        "author": str(evaluation.get("created_by") or ""),
        "comments": f"数据版本 {basis.get('data_version') or ''}；{basis.get('software') or ''}",
        "created": created,
    }


def report_xlsx(snapshot: dict[str, Any]) -> bytes:
    """The workbook of one evaluation snapshot (docs/evaluations.md), the same bytes for the same snapshot."""
    out = io.BytesIO()
    report = _Report(out)
    _summary(report, snapshot)
    _groups(report, snapshot)
    _scoreboard(report, snapshot)
    _tasks(report, snapshot)
    _cases(report, snapshot)
    _fields(report)
    report.book.set_properties(_properties(snapshot))
    report.book.close()
    return out.getvalue()
