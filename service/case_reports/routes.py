"""GET /cases/notices (page, .pdf, .xlsx) and /cases/figures (page, .json): thin; the work is in
service.case_reports.usecases.  Filters are GET parameters, so a notice is a link one can circulate."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.case_reports import usecases
from service.dependencies import get_session, require_role
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, tags=["cases"])
readers = require_role("editor", "inspector", "gis", "coordinator")
Text = Annotated[str | None, Query(max_length=40)]


def _reader(principal: Principal) -> usecases.Reader:
    return usecases.Reader(principal.name, principal.role)


def _download(body: bytes, media_type: str, name: str, zh: str, inline: bool) -> Response:
    how = "inline" if inline else "attachment"
    disposition = f"{how}; filename=\"{name}\"; filename*=UTF-8''{quote(zh)}"
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"}
    )


@router.get("/cases/notices", response_class=HTMLResponse, include_in_schema=False)
def notices_page(
    request: Request,
    as_of: Text = None,
    city: Text = None,
    kind: Text = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    filters = usecases.notice_filters(as_of, city, kind)
    report = usecases.notice_report(session, _reader(principal), filters)
    context: dict[str, Any] = {
        "report": report,
        "filters": filters,
        "cities": usecases.CITIES,
        "kinds": usecases.CASE_KINDS,
        "export_query": urlencode(filters.query_items()),
    }
    return render(request, "case_reports/notices.html", context)


@router.get("/cases/notices.{fmt}", include_in_schema=False)
def notices_file(
    fmt: Literal["pdf", "xlsx"],
    as_of: Text = None,
    city: Text = None,
    kind: Text = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """The notice printable (A4 PDF, opened in the browser) or as a workbook (downloaded)."""
    filters = usecases.notice_filters(as_of, city, kind)
    write = usecases.notice_pdf if fmt == "pdf" else usecases.notice_xlsx
    body, media = write(session, _reader(principal), filters)
    day = filters.as_of.isoformat()
    return _download(body, media, f"notice-{day}.{fmt}", f"通报-{day}.{fmt}", inline=fmt == "pdf")


@router.get("/cases/figures", response_class=HTMLResponse, include_in_schema=False)
def figures_page(
    request: Request,
    year: Text = None,
    as_of: Text = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    day = usecases.parse_as_of(as_of)
    chosen = usecases.parse_year(year, day)
    data = usecases.figures(session, _reader(principal), year=chosen, as_of=day)
    context: dict[str, Any] = {
        "data": data,
        "year_chart": usecases.rate_chart(data["violations"]["by_year"]),
        "month_chart": usecases.rate_chart(data["violations"]["by_month"]),
        "years": list(range(day.year, max(day.year - 10, 2000) - 1, -1)),
        "json_query": urlencode({"year": chosen, "as_of": day.isoformat()}),
    }
    return render(request, "case_reports/figures.html", context)


@router.get(
    "/cases/figures.json",
    summary="The seed's case figures: violations per city and per km² of the Green Heart, by unit, time to close",
)
def figures_json(
    year: Text = None,
    as_of: Text = None,
    principal: Principal = Depends(readers),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    day = usecases.parse_as_of(as_of)
    return usecases.figures(session, _reader(principal), year=usecases.parse_year(year, day), as_of=day)
