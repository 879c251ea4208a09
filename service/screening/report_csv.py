"""CSV report: one line per zone hit (UTF-8 with BOM so that Excel opens the Chinese text); formula-like text
is written so that a spreadsheet shows it and runs nothing (service.common.spreadsheet_safety)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from service.common.spreadsheet_safety import csv_dict
from service.models import Screening
from service.screening.report_table import COLUMNS, report_rows


def screenings_csv(screenings: Sequence[Screening]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in report_rows(screenings):
        writer.writerow(csv_dict(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
