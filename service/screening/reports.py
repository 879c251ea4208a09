"""Screening reports: CSV, HTML and PDF (with a map per flagged site) from recorded screenings.

Reports are built from the stored records only, so a report printed later shows what was seen
at the time, not today's layers.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import HTMLResponse, Response

from service.errors import Problem
from service.models import Screening

FORMATS = ("csv", "html", "pdf")


def render_batch(rows: Sequence[Screening], fmt: str, *, title: str) -> Response:
    """One response in the asked format; an unknown format is a 404 naming the ones there are."""
    if fmt == "csv":
        from service.screening.report_csv import screenings_csv

        return Response(
            screenings_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="screening.csv"'},
        )
    if fmt == "html":
        from service.screening.report_html import screenings_html

        return HTMLResponse(screenings_html(rows, title=title))
    if fmt == "pdf":
        from service.screening.report_pdf import screenings_pdf

        return Response(
            screenings_pdf(rows, title=title),
            media_type="application/pdf",
            headers={"Content-Disposition": 'inline; filename="screening.pdf"'},
        )
    raise Problem(404, f"no report format {fmt!r}; use one of {', '.join(FORMATS)}", parameter="format")
