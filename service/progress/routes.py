"""Routes for progress reports and /stats: thin wrappers over service.progress.reports / stats."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from service.common.concurrency import PRECONDITION_RESPONSES, parse_if_match, project_etag
from service.dependencies import current_principal, get_session, require_role
from service.errors import Problem
from service.progress.report_input import ReportIn, parse_period, parse_status
from service.progress.reports import add_report, project_progress, project_state
from service.progress.state import ProjectFilter, month_end
from service.progress.stats import GROUPINGS, stats
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings

ProjectId = Annotated[int, Path(ge=1, le=2_147_483_647, description="project id")]

router = APIRouter(route_class=SessionReleasingRoute, tags=["progress"])


def parse_as_of(value: str | None) -> date:
    """``YYYY-MM-DD`` as given, ``YYYY-MM`` as the last day of that month; default today."""
    if value is None or not value.strip():
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        pass
    try:
        return month_end(parse_period(value))
    except ValueError as exc:
        raise Problem(400, f"as_of: {exc}; use YYYY-MM or YYYY-MM-DD", parameter="as_of") from exc


def project_filter(
    plan: Annotated[str | None, Query(description="plan id, e.g. zhuzhou-2018")] = None,
    category: Annotated[str | None, Query(description="project category")] = None,
    lead_unit: Annotated[str | None, Query(description="a lead unit (牵头单位)")] = None,
    district: Annotated[str | None, Query(description="district name or adcode (spatial)")] = None,
    status: Annotated[str | None, Query(description="derived status: 未启动 推进中 已完成 滞后 暂停")] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="plan / project year")] = None,
) -> ProjectFilter:
    """The project filters shared by /stats and the map data endpoints."""
    if status:
        try:
            status = parse_status(status)
        except ValueError as exc:
            raise Problem(400, str(exc), parameter="status") from exc
    return ProjectFilter(
        plan=plan or None,
        category=category or None,
        lead_unit=lead_unit or None,
        district=district or None,
        status=status or None,
        year=year,
    )


@router.post(
    "/projects/{project_id}/progress",
    status_code=201,
    summary="Append a monthly progress report (history is kept; the latest report is the state)",
    responses=PRECONDITION_RESPONSES,
)
def post_progress(
    project_id: ProjectId,
    report: ReportIn,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role("editor")),
    if_match: Annotated[
        str | None,
        Header(
            description="The project's ETag as read (GET /projects/{id} or its progress); a stale one gets 412. "
            "Without it the report is appended unconditionally."
        ),
    ] = None,
) -> JSONResponse:
    condition = parse_if_match(if_match, project_id)
    saved = add_report(session, project_id, report, principal.name, if_match=condition)
    session.commit()
    body = saved | {"state": project_state(session, project_id)}
    headers = {"Location": f"/projects/{project_id}/progress", "ETag": project_etag(project_id, saved["version"])}
    return JSONResponse(body, status_code=201, headers=headers)


@router.get(
    "/projects/{project_id}/progress",
    summary="A project's reports (newest first) and derived state; the ETag is the project's",
)
def get_progress(
    project_id: ProjectId,
    response: Response,
    as_of: Annotated[str | None, Query(description="state at this date (YYYY-MM or YYYY-MM-DD); default today")] = None,
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(current_principal),
) -> dict[str, Any]:
    found = project_progress(session, project_id, parse_as_of(as_of))
    response.headers["ETag"] = project_etag(project_id, found["project"]["version"])
    return found


@router.get("/stats", summary="Project counts by status, mean percent, investment, spatial progress, grouped")
def get_stats(
    by: Annotated[str, Query(description=f"grouping: {' | '.join(GROUPINGS)}")],
    as_of: Annotated[str | None, Query(description="state at this date (YYYY-MM or YYYY-MM-DD); default today")] = None,
    filters: ProjectFilter = Depends(project_filter),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(current_principal),
) -> dict[str, Any]:
    if by not in GROUPINGS:
        raise Problem(400, f"by must be one of {', '.join(GROUPINGS)}, not {by!r}", parameter="by")
    return stats(session, by, parse_as_of(as_of), get_settings().delay_threshold_pct, filters)
