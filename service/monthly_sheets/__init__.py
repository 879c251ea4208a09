"""The per-unit monthly sheet (月报表): a unit's tasks as .xlsx, filled offline, uploaded, previewed, committed
(docs/monthly-sheet.md)."""
