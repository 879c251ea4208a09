"""What a ledger shows: the filters as plain values, read from a query string by the routes.

``unit`` is ``None`` when the caller gave none (an editor then sees their own unit's tasks) and ``0``
when they asked for every unit on purpose (the form's 全部单位), so the two are not confused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ALL_UNITS = 0


@dataclass(frozen=True)
class LedgerFilters:
    """Every field is optional; they combine with AND."""

    plan: str | None = None
    year: int | None = None
    unit: int | None = None  # a unit id: tasks where it or a unit under it is lead or responsible
    category: str | None = None
    district: str | None = None  # name or adcode
    status: str | None = None  # derived status
    overdue: bool | None = None
    q: str | None = None  # words in the task, its number or its units

    def with_unit(self, unit: int | None) -> LedgerFilters:
        return replace(self, unit=unit)

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as query parameters (the export links carry the page's filters)."""
        items: list[tuple[str, str]] = []
        for name in ("plan", "year", "unit", "category", "district", "status", "q"):
            value = getattr(self, name)
            if value is not None and value != "":
                items.append((name, str(value)))
        if self.overdue is not None:
            items.append(("overdue", "1" if self.overdue else "0"))
        return items


def like_pattern(text: str) -> str:
    """``%text%`` for ILIKE with the wildcards of the text itself escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
