"""Formula cells: what a spreadsheet would run is written as text, in every CSV and XLSX xiangmap writes for people.

Excel, WPS and LibreOffice evaluate a CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` (and may
strip a leading TAB or CR first), so a project title such as ``=HYPERLINK("http://x","y")`` or
``=cmd|' /C notepad'!A0`` would become a live link or a DDE command on a planner's machine.  One rule,
used by every export (and by the imports, so they never turn text into a formula):

- a text cell is *formula-like* when it starts with one of ``= + - @``, TAB, CR or LF, or with other
  white space followed by one of ``= + - @``; a plain number (``-3.5``, ``+2``, ``1e-3``) is not, nor is
  the lone ``-`` tables use for "none";
- in CSV a formula-like cell gets a leading apostrophe (OWASP's advice): the spreadsheet shows the text,
  runs nothing; values that are not text (numbers, dates) are written as they are;
- in XLSX the cell is written as a string cell (openpyxl ``data_type`` ``'s'``, XlsxWriter ``write_string``),
  never as a formula, so the text stays exactly as it was.

See docs/decisions/0096-formula-cells-neutralised.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_CHARS = frozenset("=+-@")
LEADING_CONTROL = frozenset("\t\r\n")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (a plain signed number is not one)."""
    if not text:
        return False
    first = text[0]
    if first in LEADING_CONTROL:
        return True
    if first.isspace():
        text = text.lstrip()
        if not text:
            return False
        first = text[0]
    return first in FORMULA_CHARS and len(text) > 1 and NUMBER.fullmatch(text) is None


def csv_cell(value: Any) -> Any:
    """The value to hand to ``csv.writer``: formula-like text gets a leading apostrophe, the rest is unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def csv_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items()}


def xlsx_cell(cell: Any, value: Any) -> Any:
    """Set an openpyxl cell: text is always a string cell (openpyxl makes any text starting ``=`` a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def xlsxwriter_cell(sheet: Any, row: int, col: int, value: Any, *args: Any) -> None:
    """Write a cell with XlsxWriter: text always as a string cell (``write`` would make ``=...`` a formula)."""
    if isinstance(value, str):
        sheet.write_string(row, col, value, *args)
    else:
        sheet.write(row, col, value, *args)


def imported_text(raw: str) -> str:
    """A cell as an import keeps it: surrounding white space is stripped, except where that would make a
    formula of text the person wrote as text (``"\\t=1+1"`` stays ``"\\t=1+1"``, not ``"=1+1"``)."""
    stripped = raw.strip()
    if raw[:1].isspace() and is_formula_like(stripped):
        return raw.rstrip()
    return stripped
