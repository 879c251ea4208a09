"""GET /ledger (the page), /ledger.xlsx and /ledger.csv (the same filters, as files): thin, the work is in
service.ledger.usecases.  Filters are GET parameters, so a filtered ledger is a link one can send."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.orm import Session

from service.common.derived_status import SCHEDULE_CLASSES
from service.dependencies import get_session
from service.errors import Problem
from service.ledger import usecases
from service.ledger.cells import as_text, cells
from service.ledger.columns import COLUMNS
from service.ledger.filters import ALL_UNITS, LedgerFilters
from service.read_routing import run_read_session
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False, tags=["web"])

STATUSES = SCHEDULE_CLASSES
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Text = Annotated[str | None, Query()]


def _int(name: str, value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise Problem(400, f"{name}: not a whole number: {value!r}", parameter=name) from exc


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def ledger_filters(
    plan: Text = None,
    year: Text = None,
    unit: Text = None,
    category: Text = None,
    district: Text = None,
    status: Text = None,
    overdue: Text = None,
    q: Text = None,
) -> LedgerFilters:
    """The filters from the query string; ``unit=`` (empty, the form's 全部单位) means every unit."""
    parsed_status = None
    if _blank(status):
        try:
            parsed_status = usecases.parse_status(str(status))
        except ValueError as exc:
            raise Problem(400, f"status: {exc}", parameter="status") from exc
    return LedgerFilters(
        plan=_blank(plan),
        year=_int("year", year),
        unit=None if unit is None else (_int("unit", unit) or ALL_UNITS),
        category=_blank(category),
        district=_blank(district),
        status=parsed_status,
        overdue={"1": True, "0": False}.get((overdue or "").strip()),
        q=_blank(q),
    )


def _for_user(session: Session, principal: Principal, filters: LedgerFilters) -> LedgerFilters:
    if filters.unit is None:
        return filters.with_unit(usecases.default_unit(session, principal.name, principal.role))
    return filters


@router.get("/ledger", response_class=HTMLResponse)
def ledger(
    request: Request,
    filters: Annotated[LedgerFilters, Depends(ledger_filters)],
    as_of: Text = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    day = usecases.parse_as_of(as_of)
    if principal.role == "viewer":
        # a viewer only reads: its ledger may come from a hot standby, slightly stale (issue 21)
        session.close()

        return run_read_session(lambda read: _ledger_page(request, read, principal, filters, day))
    return _ledger_page(request, session, principal, filters, day)


def _ledger_page(
    request: Request, session: Session, principal: Principal, filters: LedgerFilters, day: date
) -> HTMLResponse:
    filters = _for_user(session, principal, filters)
    page = usecases.ledger_page(session, filters, day)
    rows = [_printable(row) for row in page.rows]
    context: dict[str, Any] = {
        "filters": filters,
        "as_of": day,
        "as_of_month": day.strftime("%Y-%m"),
        "columns": COLUMNS,
        "hidden_columns": ["plan_title"] if filters.plan else [],  # one plan chosen: its name is in the form
        "rows": rows,
        "total": page.total,
        "choices": _choices(usecases.filter_options(session)),
        "overdue_value": None if filters.overdue is None else ("1" if filters.overdue else "0"),
        "export_query": _query(filters, day),
    }
    template = "ledger/table.html" if request.headers.get("HX-Request") == "true" else "ledger/list.html"
    return render(request, template, context)


def _choices(options: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, str]]]:
    """(value, label) pairs of each select of the filter form."""
    return {
        "plan": [(p["id"], f"{p['title']}（{p['year']}）") for p in options["plans"]],
        "year": [(y["year"], str(y["year"])) for y in options["years"] if y["year"] is not None],
        "unit": [(u["id"], u["name"]) for u in options["units"]],
        "category": [(c["category"], c["category"]) for c in options["categories"]],
        "district": [(d["name"], d["name"]) for d in options["districts"]],
        "status": [(s, s) for s in STATUSES],
    }


def _printable(row: dict[str, Any]) -> dict[str, Any]:
    values = cells(row)
    return {
        "id": row["id"],
        "task_text": row["task_text"],
        "cells": {c.key: as_text(c, v) for c, v in zip(COLUMNS, values, strict=True)},
        "status": row["status"],
        "overdue": row["overdue"],
    }


def _query(filters: LedgerFilters, day: date) -> str:
    return urlencode([*filters.query_items(), ("as_of", day.strftime("%Y-%m"))])


def _download(
    session: Session, principal: Principal, filters: LedgerFilters, as_of: str | None, fmt: usecases.Format
) -> StreamingResponse:
    filters = _for_user(session, principal, filters)
    day = usecases.parse_as_of(as_of)
    session.close()  # the export opens its own (decision 0100): no connection held twice
    name = f"ledger-{day.strftime('%Y-%m')}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''%E5%8F%B0%E8%B4%A6-{name}"}
    return StreamingResponse(usecases.ledger_export(filters, day, fmt), media_type=MEDIA[fmt], headers=headers)


@router.get("/ledger.{fmt}")
def ledger_file(
    fmt: Literal["xlsx", "csv"],
    filters: Annotated[LedgerFilters, Depends(ledger_filters)],
    as_of: Text = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> StreamingResponse:
    """/ledger.xlsx and /ledger.csv: the ledger as the page's filters give it, every row."""
    return _download(session, principal, filters, as_of, fmt)
