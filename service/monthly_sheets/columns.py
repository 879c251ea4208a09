"""The sheet's columns, once: the workbook writes them, the reader finds them by their header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "units", "date", "status", "percent", "number"]


@dataclass(frozen=True)
class Column:
    key: str  # the task's or the report's field
    header: str  # Chinese, as the sheet shows it
    english: str  # what the API's problems call it
    kind: Kind
    width: int  # characters
    fill: bool  # a column the unit fills in (unlocked); the others are the task, locked


TASK_ID = "task_id"
COLUMNS: tuple[Column, ...] = (
    Column(TASK_ID, "任务编号", "task_id", "id", 9, False),
    Column("number", "序号", "number", "text", 6, False),
    Column("title", "重点任务", "task", "text", 46, False),
    Column("lead_units", "牵头单位", "lead units", "units", 18, False),
    Column("responsible_units", "责任单位", "responsible units", "units", 18, False),
    Column("deadline", "完成时限", "deadline", "date", 12, False),
    Column("previous_status", "上月状态", "last status", "text", 9, False),
    Column("previous_percent", "上月完成比例", "last percent", "percent", 11, False),
    Column("status", "本月状态", "status", "status", 10, True),
    Column("percent", "完成比例", "percent", "percent", 10, True),
    Column("investment_wan", "累计完成投资（万元）", "investment_wan", "number", 14, True),
    Column("note", "进展情况", "note", "text", 40, True),
    Column("behind_category", "滞后原因类别", "behind_category", "text", 12, True),
    Column("behind_reason", "滞后原因", "behind_reason", "text", 24, True),
)
FILL_COLUMNS = tuple(c for c in COLUMNS if c.fill)
BY_KEY = {c.key: c for c in COLUMNS}

# the title row: these labels, each followed by its value in the next cell
UNIT_LABEL = "单位"
PERIOD_LABEL = "月份"
TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3

# where a problem of a report field is shown (ReportIn's fields and the importer's columns)
FIELD_COLUMNS = {
    "period": (PERIOD_LABEL, "period"),
    "status": ("本月状态", "status"),
    "percent": ("完成比例", "percent"),
    "investment_wan": ("累计完成投资（万元）", "investment_wan"),
    "note": ("进展情况", "note"),
    "behind_category": ("滞后原因类别", "behind_category"),
    "behind_reason": ("滞后原因", "behind_reason"),
    "row": ("本月状态", "status"),  # status and percent disagree (已完成 needs 100): shown at the status
    TASK_ID: ("任务编号", "task_id"),
}

# header variants people may retype
HEADER_ALIASES = {
    "任务ID": TASK_ID,
    "任务id": TASK_ID,
    "project_id": TASK_ID,
    "状态": "status",
    "完成进度": "percent",
    "累计完成投资(万元)": "investment_wan",
    "完成投资（万元）": "investment_wan",
    "备注": "note",
}
