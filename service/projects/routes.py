"""Routes for the project register, its locations and the review queue: parse, authorise, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlalchemy.orm import Session

from service.common.concurrency import PRECONDITION_RESPONSES, project_etag
from service.dependencies import get_session, require_role
from service.errors import Problem
from service.projects.locations import LocationIn
from service.projects.queries import ProjectQuery
from service.projects.usecases import get_project, list_projects, review_queue, set_location
from service.routing import SessionReleasingRoute
from service.security import Principal

router = APIRouter(route_class=SessionReleasingRoute, tags=["projects"])

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
ProjectId = Annotated[int, Path(ge=1, le=2_147_483_647, description="project id")]


def _links(request: Request, page: dict[str, Any], limit: int, offset: int) -> list[dict[str, str]]:
    links = [{"rel": "self", "href": str(request.url)}]
    if offset + page["numberReturned"] < page["numberMatched"]:
        links.append({"rel": "next", "href": str(request.url.include_query_params(offset=offset + limit))})
    if offset > 0:
        links.append({"rel": "prev", "href": str(request.url.include_query_params(offset=max(0, offset - limit)))})
    return links


@router.get("/projects", summary="Projects of the register, filtered and paged")
def projects(
    request: Request,
    session: Annotated[Session, Depends(get_session, scope="function")],
    plan: Annotated[str | None, Query(description="plan id, e.g. zhuzhou-2018")] = None,
    category: Annotated[str | None, Query(description="category, e.g. 碧水蓝天")] = None,
    lead_unit: Annotated[str | None, Query(description="a lead unit (牵头单位), e.g. 市住建局")] = None,
    district: Annotated[str | None, Query(description="district name or adcode (spatial)")] = None,
    status: Annotated[str | None, Query(description="location status: pending auto review unresolved manual")] = None,
    precision: Annotated[int | None, Query(description="IATI / AidData precision code")] = None,
    q: Annotated[str | None, Query(description="text in title or task text")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    query = ProjectQuery(plan, category, lead_unit, district, status, precision, q, limit, offset)
    try:
        query.validate()
    except ValueError as exc:
        parameter, reason = exc.args
        raise Problem(400, reason, parameter=parameter) from exc
    page = list_projects(session, query)
    return {**page, "limit": limit, "offset": offset, "links": _links(request, page, limit, offset)}


@router.get("/projects/review", summary="The review queue: projects a person must place, with the reasons")
def review(
    request: Request,
    session: Annotated[Session, Depends(get_session, scope="function")],
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    page = review_queue(session, limit, offset)
    return {**page, "limit": limit, "offset": offset, "links": _links(request, page, limit, offset)}


@router.get("/projects/{project_id}", summary="One project with its geometry and every location")
def project(
    project_id: ProjectId, response: Response, session: Annotated[Session, Depends(get_session, scope="function")]
) -> dict[str, Any]:
    found = get_project(session, project_id)
    if found is None:
        raise Problem(404, f"no project with id {project_id}", parameter="project_id")
    response.headers["ETag"] = project_etag(project_id, found["version"])
    return found


@router.put(
    "/projects/{project_id}/location",
    summary="Place a project by features or a drawn geometry (editor)",
    responses=PRECONDITION_RESPONSES,
)
def put_location(
    project_id: ProjectId,
    body: LocationIn,
    response: Response,
    session: Annotated[Session, Depends(get_session, scope="function")],
    principal: Annotated[Principal, Depends(require_role("editor"))],
    if_match: Annotated[
        str | None,
        Header(description="The project's ETag as read; a stale one gets 412. Without it the location is replaced."),
    ] = None,
) -> dict[str, Any]:
    updated = set_location(session, principal.name, project_id, body, if_match)
    response.headers["ETag"] = project_etag(project_id, updated["version"])
    return updated
