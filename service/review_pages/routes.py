"""GET /review (the queue), GET /review/{id} (one task to place), its candidates' GeoJSON, and the three
decisions (accept, draw, no place): parse, authorise, shape; the work is in service.review_pages.usecases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.dependencies import get_session
from service.errors import Problem
from service.review_pages import usecases
from service.review_pages.usecases import DecisionRefused
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False, tags=["web"])

TaskId = Annotated[int, Path(ge=1, le=2_147_483_647, description="task (project) id")]
Short = Annotated[str, Form(max_length=500)]
PLACERS = ("editor",)  # who may PUT /projects/{id}/location: editors, and coordinators and admins with them


def _may_place(principal: Principal) -> None:
    """The page is for the people who may place a task; anyone else gets the 403 page."""
    if not principal.has(*PLACERS):
        raise Problem(403, "只有编辑、统筹协调人员和管理员可以复核定位 / editors, coordinators and admins only")


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    plan: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_place(principal)
    return render(request, "review/list.html", usecases.queue(session, plan.strip() or None, page))


def _task_page(
    request: Request, session: Session, task_id: int, *, form: str = "", error: str = "", typed=None, status=200
) -> HTMLResponse:
    context: dict[str, Any] = usecases.task(session, task_id) | {
        "error_form": form,
        "error": error,
        "typed": {"candidates": [], "geometry": "", "precision": "", "note": ""} | (typed or {}),
    }
    return render(request, "review/task.html", context, status=status)


@router.get("/review/{task_id}", response_class=HTMLResponse)
def review_task(
    request: Request,
    task_id: TaskId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_place(principal)
    return _task_page(request, session, task_id)


@router.get("/review/{task_id}/candidates.geojson")
def review_candidates(
    task_id: TaskId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    """The candidate features' geometries from their layers, numbered as in the page's list."""
    _may_place(principal)
    return JSONResponse(usecases.candidates_geojson(session, task_id), media_type="application/geo+json")


def _decided(
    request: Request,
    session: Session,
    task_id: int,
    form: str,
    typed: dict[str, Any],
    decide: Callable[[], dict[str, Any]],
    what: str,
) -> Response:
    """Run one of the three decisions: back to the queue with a flash, or the page again with the refusal
    beside ``form`` and what was typed kept."""
    try:
        saved = decide()
    except DecisionRefused as refused:
        return _task_page(
            request, session, task_id, form=form, error=refused.message, typed=typed, status=refused.status
        )
    response = RedirectResponse(f"/review?{urlencode({'plan': saved['plan']})}", status_code=303)
    flash.add(request, response, f"已{what}：{saved['number'] or ''} {saved['title']}（不会被自动定位覆盖）", "success")
    return response


@router.post("/review/{task_id}/accept", response_class=HTMLResponse)
def accept_candidate(
    request: Request,
    task_id: TaskId,
    candidate: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006  (FastAPI copies form defaults)
    version: Short = "",
    note: Short = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_place(principal)
    return _decided(
        request,
        session,
        task_id,
        "accept",
        {"candidates": candidate, "note": note},
        lambda: usecases.accept(session, principal.name, task_id, candidate, version, note),
        "采用候选地点",
    )


@router.post("/review/{task_id}/draw", response_class=HTMLResponse)
def draw_location(
    request: Request,
    task_id: TaskId,
    geometry: Annotated[str, Form(max_length=2_000_000)] = "",
    precision: Short = "",
    version: Short = "",
    note: Short = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_place(principal)
    return _decided(
        request,
        session,
        task_id,
        "draw",
        {"geometry": geometry, "precision": precision, "note": note},
        lambda: usecases.draw(session, principal.name, task_id, geometry, precision, version, note),
        "保存绘制的位置",
    )


@router.post("/review/{task_id}/no-place", response_class=HTMLResponse)
def mark_no_place(
    request: Request,
    task_id: TaskId,
    version: Short = "",
    note: Short = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_place(principal)
    return _decided(
        request,
        session,
        task_id,
        "no_place",
        {"note": note},
        lambda: usecases.no_place(session, principal.name, task_id, version, note),
        "记为不指向具体地点",
    )
