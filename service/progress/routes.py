"""Routes for progress reports and /stats: parse, authorise, shape; the work is service.progress.usecases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from service.common.concurrency import PRECONDITION_RESPONSES, parse_if_match, project_etag
from service.dependencies import current_principal, get_session, require_role
from service.progress import usecases
from service.progress.usecases import GROUPINGS, ProjectFilter, ReportIn, parse_as_of, project_filter
from service.routing import SessionReleasingRoute
from service.security import Principal

ProjectId = Annotated[int, Path(ge=1, le=2_147_483_647, description="project id")]

router = APIRouter(route_class=SessionReleasingRoute, tags=["progress"])


@router.post(
    "/projects/{project_id}/progress",
    status_code=201,
    summary="Append a monthly progress report: an editor on their unit's tasks, a coordinator on any (history is kept)",
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
    body = usecases.add_report(session, project_id, report, principal.name, if_match=condition, role=principal.role)
    headers = {"Location": f"/projects/{project_id}/progress", "ETag": project_etag(project_id, body["version"])}
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
    found = usecases.project_progress(session, project_id, parse_as_of(as_of))
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
    by = usecases.grouping(by)  # named before a bad as_of, as the parameters are listed
    return usecases.stats(session, by, parse_as_of(as_of), filters=filters)
