"""Routes for users, tokens and the audit log (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from service.accounts import usecases
from service.dependencies import get_session, require_role
from service.routing import SessionReleasingRoute
from service.security import Principal

router = APIRouter(route_class=SessionReleasingRoute, tags=["admin"])


@router.get("/audit", summary="The audit log, newest first (admin)")
def audit_log(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2_000_000_000),
    entity: str | None = Query(None, description="Only entries for this entity type (project, layer, user ...)."),
    entity_id: str | None = Query(None),
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_role("admin")),
) -> dict[str, object]:
    entries = usecases.audit_entries(session, limit=limit, offset=offset, entity=entity, entity_id=entity_id)
    return {"entries": entries, "limit": limit, "offset": offset}
