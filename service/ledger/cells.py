"""A ledger row's cells as typed values: what the page prints, and what the CSV and the workbook write.

Percent is carried as a fraction (0.8 for 80 %): the workbook writes it as a number with a percent
format (Excel shows 80 % and sums 0.8), the CSV as ``80%`` (which Excel and WPS read back as 0.8).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from service.common.location_codes import place_label
from service.ledger.columns import COLUMNS, DELAY_LABELS, UNIT_SEPARATOR, Column


def cell(column: Column, row: dict[str, Any]) -> Any:
    """The value of ``column`` in ``row``: text, a date, a fraction, True/False, or None."""
    if column.key == "delay_label":
        return DELAY_LABELS.get(row.get("delay_reason") or "", None)
    if column.key == "place":
        return place_label(row.get("precision"), row.get("location_status"))
    value = row.get(column.key)
    if value is None:
        return None
    if column.kind == "units":
        return UNIT_SEPARATOR.join(value) or None
    if column.kind == "percent":
        return round(float(value) / 100.0, 4)
    if column.kind == "fraction":
        return round(float(value), 4)
    return value


def cells(row: dict[str, Any]) -> list[Any]:
    return [cell(c, row) for c in COLUMNS]


def as_text(column: Column, value: Any) -> str:
    """The cell as the page and the CSV print it."""
    if value is None:
        return ""
    if column.kind in ("percent", "fraction"):
        return f"{value * 100:.0f}%"
    if column.kind == "bool":
        return "是" if value else "否"
    if column.kind == "month" and isinstance(value, date):
        return value.strftime("%Y-%m")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
