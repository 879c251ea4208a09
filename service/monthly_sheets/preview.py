"""What an uploaded sheet would do, row by row, before anything is stored: the preview's shape.

Every row is one of: ``record`` (a report that will be appended), ``unchanged`` (the month's stored report
already says exactly this), ``skipped`` (nothing filled in) or ``problem``; each problem has its row, its
column (the sheet's Chinese header) and a reason in Chinese and in English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from service.monthly_sheets.columns import FIELD_COLUMNS

Action = Literal["record", "unchanged", "skipped", "problem"]
ACTION_LABELS = {"record": "将记录", "unchanged": "无变化", "skipped": "未填写，跳过", "problem": "有问题"}


@dataclass(frozen=True)
class SheetProblem:
    row: int
    column: str  # the sheet's header (本月状态 ...)
    column_en: str
    zh: str
    en: str

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column_en,
            "header": self.column,
            "reason": self.en,
            "reason_zh": self.zh,
        }


def split_reason(reason: str) -> tuple[str, str]:
    """("中文", "English") from a reason written "中文 / English" (one language: both the same)."""
    zh, sep, en = reason.partition(" / ")
    return (zh, en) if sep else (reason, reason)


def problem(row: int, field_name: str, reason: str) -> SheetProblem:
    column, column_en = FIELD_COLUMNS.get(field_name, (field_name, field_name))
    zh, en = split_reason(reason)
    return SheetProblem(row, column, column_en, zh, en)


@dataclass
class RowOutcome:
    row: int
    task_id: int | None
    number: str | None
    title: str | None
    action: Action
    report: dict[str, Any] | None = None  # status, percent, investment_wan, note, behind_reason
    problems: list[SheetProblem] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "task_id": self.task_id,
            "number": self.number,
            "title": self.title,
            "action": self.action,
            "report": self.report,
            "problems": [p.as_json() for p in self.problems],
        }


@dataclass
class Preview:
    upload_id: str
    filename: str
    sha256: str
    unit: str  # as the title row names it
    period: date | None
    rows: list[RowOutcome] = field(default_factory=list)
    sheet_problems: list[SheetProblem] = field(default_factory=list)  # the title row's (the month)

    @property
    def problems(self) -> list[SheetProblem]:
        return [*self.sheet_problems, *(p for r in self.rows for p in r.problems)]

    def count(self, action: Action) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def can_commit(self) -> bool:
        """No problem anywhere and something to record."""
        return not self.problems and self.count("record") > 0

    def as_json(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "filename": self.filename,
            "sha256": self.sha256,
            "unit": self.unit,
            "period": self.period.strftime("%Y-%m") if self.period else None,
            "counts": {a: self.count(a) for a in ("record", "unchanged", "skipped", "problem")},
            "can_commit": self.can_commit,
            "problems": [p.as_json() for p in self.problems],
            "rows": [r.as_json() for r in self.rows],
        }
