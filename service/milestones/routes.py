"""API routes for a task's milestones: parse, authorise, shape; the work is service.milestones.usecases."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.dependencies import current_principal, get_session, require_role
from service.milestones import usecases
from service.milestones.backward import Milestone
from service.routing import SessionReleasingRoute
from service.security import Principal

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
