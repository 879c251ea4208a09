"""The notice's columns, one list for the page, the PDF and the workbook (header, width, kind)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float  # Excel characters
    kind: str = "text"  # text | date | int


COLUMNS = (
    Column("unit", "责任单位", 28),
    Column("number", "案件编号", 20),
    Column("title", "问题", 36),
    Column("kind", "类型", 10),
    Column("district", "地点（区县）", 14),
    Column("found_on", "发现日期", 12, "date"),
    Column("deadline", "整改期限", 12, "date"),
    Column("days_overdue", "逾期天数", 9, "int"),
    Column("severity", "严重程度", 9),
    Column("status", "状态", 10),
)
