"""What a spreadsheet import reports for a bad cell: the row, the column and the reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"
