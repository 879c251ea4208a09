"""The ledger's columns, once: the page, the CSV and the workbook show the same ones in the same order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.common import derived_status

Kind = Literal["text", "units", "date", "month", "percent", "fraction", "bool"]


@dataclass(frozen=True)
class Column:
    key: str  # the row's key (service.ledger.query.LEDGER_COLUMNS)
    header: str  # Chinese, as the planners name it
    kind: Kind
    width: int  # characters, for the workbook


COLUMNS: tuple[Column, ...] = (
    Column("number", "序号", "text", 8),
    Column("plan_title", "计划", "text", 22),
    Column("section", "章节", "text", 16),
    Column("title", "任务", "text", 50),
    Column("lead_units", "牵头单位", "units", 24),
    Column("responsible_units", "责任单位", "units", 24),
    Column("deadline", "完成时限", "date", 12),
    Column("status", "进度分类", "text", 12),
    Column("percent", "完成进度", "percent", 10),
    Column("planned_pct", "节点计划", "percent", 10),
    Column("next_milestone", "下一节点", "text", 12),
    Column("next_due", "节点时间", "date", 12),
    Column("spatial_progress", "空间进度", "fraction", 10),
    Column("place", "定位", "text", 16),
    Column("note", "最新进展", "text", 40),
    Column("delay_label", "滞后依据", "text", 14),
    Column("behind_category", "滞后原因类别", "text", 10),
    Column("behind_reason", "滞后原因", "text", 24),
    Column("overdue", "已逾期", "bool", 8),
    Column("period", "报告期", "month", 10),
)

DELAY_LABELS = derived_status.DELAY_LABELS
UNIT_SEPARATOR = "、"
