"""Percent complete as people write it: ``80%``, ``80`` and ``0.8`` all mean 80 percent (decision 0175).

An Excel cell formatted as a percentage holds the fraction (80 % is stored as 0.8); a planner who types
into a plain cell writes 80; some write 80% as text.  One rule reads all three the same way in the
report form, the monthly sheet, the progress import and the API:

- text ending in ``%`` (or ``％``) is that many percent;
- an Excel cell whose number format is a percentage is its value times 100;
- any other number strictly between 0 and 1 is a fraction of the whole (0.8 → 80);
- 0, 1 and anything above are percents as written (1 is 1 percent; write 100 or 100% for done).

The result is refused outside 0-100 with a message that names what was written.
"""

from __future__ import annotations

import math
from typing import Any


class PercentError(ValueError):
    """The value cannot be read as a percent complete; the message says why, in Chinese and English."""


def parse_percent(value: Any, *, percent_format: bool = False) -> float | None:
    """Percent complete (0-100) from a cell, a form field or a JSON number; None when blank.

    ``percent_format`` says the spreadsheet cell is formatted as a percentage (openpyxl's
    ``cell.number_format`` contains ``%``), so its number is a fraction whatever its size.
    """
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise PercentError(f"完成比例不能是 {value} / percent must be a number, not {value}")
        return None
    written = value
    if isinstance(value, int | float):
        number = float(value)
        if percent_format or 0 < number < 1:
            number *= 100
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        if not text:
            return None
        explicit = text.endswith(("%", "％"))
        text = text.rstrip("%％").strip()
        try:
            number = float(text)
        except ValueError:
            raise PercentError(
                f"完成比例“{written}”不是数字 / percent {written!r} is not a number (write 80%, 80 or 0.8)"
            ) from None
        if not explicit and 0 < number < 1:
            number *= 100
    if not math.isfinite(number):
        raise PercentError(f"完成比例“{written}”不是有限数 / percent {written!r} is not a finite number")
    number = round(number, 6)
    if not 0 <= number <= 100:
        raise PercentError(f"完成比例“{written}”不在 0-100% 之间 / percent {written!r} is not between 0 and 100")
    return number
