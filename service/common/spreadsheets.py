"""What spreadsheet imports share: the report of a bad cell (row, column, reason), and reading a CSV's bytes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RowError:
    row: int  # spreadsheet row number (the header is row 1)
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


# what the offices' spreadsheets are saved as: Excel's "CSV UTF-8" (with BOM), or a Chinese Windows CSV
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_csv(data: bytes) -> tuple[str, str] | None:
    """The text of a CSV file and the encoding it was read with (UTF-8 or GB18030); None when neither fits."""
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None
