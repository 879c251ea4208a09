"""Screening reports: CSV, HTML and PDF (with a map per flagged site) from recorded screenings.

Reports are built from the stored records only, so a report printed later shows what was seen
at the time, not today's layers.  They return the bytes and their media type, not an HTTP response:
the route, the CLI (which writes files) and any batch job use the same rendering, and only the route
knows about headers (issue #13).
"""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import Problem
from service.models import Screening

FORMATS = ("csv", "html", "pdf")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def render_report(rows: Sequence[Screening], fmt: str, *, title: str) -> tuple[bytes, str]:
    """The report in the asked format as (bytes, media type); an unknown format is a 404 naming the ones there are."""
    if fmt == "csv":
        from service.screening.report_csv import screenings_csv

        return screenings_csv(rows), MEDIA_TYPES[fmt]
    if fmt == "html":
        from service.screening.report_html import screenings_html

        return screenings_html(rows, title=title).encode("utf-8"), MEDIA_TYPES[fmt]
    if fmt == "pdf":
        from service.screening.report_pdf import screenings_pdf

        return screenings_pdf(rows, title=title), MEDIA_TYPES[fmt]
    raise Problem(404, f"no report format {fmt!r}; use one of {', '.join(FORMATS)}", parameter="format")
