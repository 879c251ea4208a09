"""API routes for a task's milestones: parse, authorise, shape; the work is service.milestones.usecases."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.dependencies import current_principal, get_session, require_role
from service.errors import Problem
from service.milestones import usecases
from service.milestones.backward import Milestone
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web import flash
from service.web.pages import page_user, render

ProjectId = Annotated[int, Path(ge=1, le=2_147_483_647, description="project (task) id")]

router = APIRouter(route_class=SessionReleasingRoute, tags=["milestones"])


class MilestoneIn(BaseModel):
    """One milestone: by ``due`` the task should be at ``planned_percent``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="立项, 开工, 主体完工, 竣工验收, 计划进度 ...")
    due: date = Field(description="the last day it may be reached (YYYY-MM-DD)")
    planned_percent: float = Field(ge=0, le=100, description="percent the task should have reached by then")
    starts_work: bool = Field(default=False, description="works must have begun by then (开工)")


class MilestonesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    milestones: list[MilestoneIn] = Field(max_length=60)


@router.get("/projects/{project_id}/milestones", summary="A task's milestones and the backward schedule offered")
def get_milestones(
    project_id: ProjectId,
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return usecases.milestones(session, project_id)


@router.put(
    "/projects/{project_id}/milestones",
    summary="Replace a task's milestones (coordinators: the planners); the old set is kept in the audit log",
)
def put_milestones(
    project_id: ProjectId,
    body: MilestonesIn,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role("coordinator")),
) -> dict[str, Any]:
    items = [Milestone(m.name, m.due, m.planned_percent, m.starts_work) for m in body.milestones]
    return usecases.replace(session, project_id, items, principal.name)


@router.post(
    "/projects/{project_id}/milestones/backward",
    summary="Accept the backward schedule from the deadline as the task's milestones",
)
def accept_backward(
    project_id: ProjectId,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role("coordinator")),
) -> dict[str, Any]:
    return usecases.accept_backward(session, project_id, principal.name)


# --- the browser page: /tasks/{id}/milestones -------------------------------------------------------------

ROWS = 8  # rows on the page; a monthly plan of more rows comes by the API or a sheet


def _rows_from_form(form: dict[str, str]) -> tuple[list[Milestone], list[str], list[dict[str, Any]]]:
    """The typed rows as milestones, the problems of reading them, and the rows as typed (to show again)."""
    items: list[Milestone] = []
    found: list[str] = []
    typed: list[dict[str, Any]] = []
    for n in range(ROWS):
        name = (form.get(f"name_{n}") or "").strip()
        due = (form.get(f"due_{n}") or "").strip()
        pct = (form.get(f"pct_{n}") or "").strip().rstrip("%％")
        starts = form.get(f"starts_{n}") == "on"
        typed.append({"name": name, "due": due, "planned_percent": pct, "starts_work": starts})
        if not (name or due or pct):
            continue
        try:
            day = date.fromisoformat(due)
        except ValueError:
            found.append(f"第 {n + 1} 行：日期“{due}”不是 YYYY-MM-DD / row {n + 1}: date is not YYYY-MM-DD")
            continue
        try:
            percent = float(pct)
        except ValueError:
            found.append(f"第 {n + 1} 行：计划比例“{pct}”不是数字 / row {n + 1}: percent is not a number")
            continue
        items.append(Milestone(name, day, percent, starts))
    return items, found, typed


def _page(
    request: Request, session: Session, task_id: int, principal: Principal, *, typed=None, errors=(), status=200
) -> HTMLResponse:
    data = usecases.milestones(session, task_id)
    shown = typed or data["milestones"] or data["backward"]
    empty = {"name": "", "due": "", "planned_percent": "", "starts_work": False}
    rows = [*shown, *(empty for _ in range(ROWS - len(shown)))][:ROWS]
    context = data | {
        "rows": rows,
        "proposed": not typed and not data["milestones"] and bool(data["backward"]),
        "errors": list(errors),
        "may_edit": principal.has("coordinator"),
        "task_id": task_id,
    }
    return render(request, "milestones/edit.html", context, status=status)


@router.get("/tasks/{task_id}/milestones", response_class=HTMLResponse, include_in_schema=False)
def milestones_page(
    request: Request,
    task_id: ProjectId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _page(request, session, task_id, principal)


@router.post("/tasks/{task_id}/milestones", response_class=HTMLResponse, include_in_schema=False)
async def save_milestones_page(
    request: Request,
    task_id: ProjectId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = {k: str(v)[:200] for k, v in (await request.form()).items() if isinstance(v, str)}
    if not principal.has("coordinator"):
        return _page(
            request,
            session,
            task_id,
            principal,
            errors=["只有统筹协调人员可以设置节点 / coordinators only"],
            status=403,
        )
    items, found, typed = _rows_from_form(form)
    if not found:
        try:
            usecases.replace(session, task_id, items, principal.name)
        except Problem as problem:
            found = problem.detail.split("；")
    if found:
        session.rollback()
        return _page(request, session, task_id, principal, typed=typed, errors=found, status=422)
    response = RedirectResponse(f"/tasks/{task_id}", status_code=303)
    flash.add(request, response, f"已保存 {len(items)} 个节点，进度分类按新节点判断")
    return response
