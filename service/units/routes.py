"""Routes for the register of units: parse, authorise, shape; the work is service.units.usecases."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import Problem
from service.models.units import UNIT_KINDS
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.units import usecases

router = APIRouter(route_class=SessionReleasingRoute, tags=["units"])

UnitId = Annotated[int, Path(ge=1, le=2_147_483_647, description="unit id")]
DbSession = Annotated[Session, Depends(get_session, scope="function")]
Editor = Annotated[Principal, Depends(require_role("coordinator"))]  # the 两型办's coordinators (and admins)


class UnitIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="canonical, full name, e.g. 株洲市住房和城乡建设局")
    kind: str = Field(description=f"one of {', '.join(UNIT_KINDS)}")
    short_name: str | None = Field(None, max_length=100, description="as plans write it, e.g. 市住建局")
    city: str | None = Field(None, max_length=50, description="e.g. 株洲市; default the parent's; none: provincial")
    parent: int | str | None = Field(None, description="the parent unit's id or name")
    aliases: list[str] = Field(default_factory=list, max_length=50)


class AliasIn(BaseModel):
    alias: str = Field(min_length=1, max_length=200, description="e.g. 市住建居, as a plan wrote it")
    valid_from: date | None = None
    valid_to: date | None = Field(None, description="the first day it no longer names the unit")
    relative: bool | None = Field(None, description="names the unit only in plans of its city (default: by rule)")


class RenameIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="the new canonical name")
    on: date = Field(description="the day of the rename")
    short_name: str | None = Field(None, max_length=100)


class AccountIn(BaseModel):
    user: str = Field(min_length=1, max_length=200)


@router.get("/units", summary="The register of units, filtered")
def units(
    session: DbSession,
    city: Annotated[str | None, Query(max_length=50, description="e.g. 株洲市")] = None,
    kind: Annotated[str | None, Query(description=f"one of {', '.join(UNIT_KINDS)}")] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in a name or alias")] = None,
) -> dict[str, Any]:
    found = usecases.list_units(session, city=city, kind=kind, q=q)
    return {"units": found, "numberReturned": len(found)}


@router.get("/units/resolve", summary="What a unit string means in a plan of a city at a date (nothing is written)")
def resolve(
    session: DbSession,
    name: Annotated[str, Query(min_length=1, max_length=200, description="e.g. 市发改委")],
    city: Annotated[str | None, Query(max_length=50, description="the plan's city; none: a plan without one")] = None,
    on: Annotated[date | None, Query(description="the plan's date (YYYY-MM-DD); default today")] = None,
) -> dict[str, Any]:
    return usecases.resolve_name(session, name, city, on)


@router.get("/units/unresolved", summary="Unit strings of tasks no unit was found for, with the closest names")
def unresolved(
    session: DbSession, plan: Annotated[str | None, Query(max_length=100, description="plan id")] = None
) -> dict[str, Any]:
    found = usecases.unresolved(session, plan)
    return {"unresolved": found, "numberReturned": len(found)}


@router.post("/units", status_code=201, summary="Add a unit (coordinator)")
def post_unit(body: UnitIn, session: DbSession, principal: Editor) -> dict[str, Any]:
    return usecases.create_unit(
        session,
        principal.name,
        body.name,
        body.kind,
        short_name=body.short_name,
        city=body.city,
        parent=body.parent,
        aliases=body.aliases,
    )


@router.post("/units/relink", summary="Re-derive every task's units from its unit strings (coordinator)")
def post_relink(
    session: DbSession, principal: Editor, plan: Annotated[str | None, Query(max_length=100)] = None
) -> dict[str, Any]:
    counts = usecases.relink(session, principal.name, plan)
    return {
        "result": str(counts),
        "projects": counts.projects,
        "changed": counts.changed,
        "unresolved": counts.unresolved,
    }


@router.get("/units/{unit_id}", summary="One unit with its aliases, parent, children, groups and accounts")
def unit(unit_id: UnitId, session: DbSession) -> dict[str, Any]:
    found = usecases.get_unit(session, unit_id)
    if found is None:
        raise Problem(404, f"no unit with id {unit_id}", parameter="unit_id")
    return found


@router.get("/units/{unit_id}/tasks", summary="The tasks where the unit (or a unit under it) is lead or responsible")
def unit_tasks(
    unit_id: UnitId,
    session: DbSession,
    include_children: Annotated[bool, Query(description="also the units under it")] = True,
) -> dict[str, Any]:
    if usecases.get_unit(session, unit_id) is None:
        raise Problem(404, f"no unit with id {unit_id}", parameter="unit_id")
    tasks = usecases.tasks_for_unit(session, unit_id, include_children)
    return {"unit_id": unit_id, "tasks": tasks, "numberReturned": len(tasks)}


@router.post("/units/{unit_id}/aliases", status_code=201, summary="Add another name of a unit (coordinator)")
def post_alias(unit_id: UnitId, body: AliasIn, session: DbSession, principal: Editor) -> dict[str, Any]:
    return usecases.add_alias(
        session,
        principal.name,
        unit_id,
        body.alias,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        relative=body.relative,
    )


@router.post("/units/{unit_id}/rename", summary="Rename a unit on a date; it keeps its id and tasks (coordinator)")
def post_rename(unit_id: UnitId, body: RenameIn, session: DbSession, principal: Editor) -> dict[str, Any]:
    return usecases.rename_unit(session, principal.name, unit_id, body.name, body.on, new_short=body.short_name)


@router.post("/units/{unit_id}/accounts", summary="Put an account in this unit (admin)")
def post_account(
    unit_id: UnitId,
    body: AccountIn,
    session: DbSession,
    principal: Annotated[Principal, Depends(require_role("admin"))],
) -> dict[str, Any]:
    return usecases.assign_user(session, principal.name, body.user, unit_id)
