"""Routes for users, tokens and the audit log (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.models import AuditEntry
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
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    rows = session.scalars(stmt).all()

    def as_dict(row: AuditEntry) -> dict[str, object]:
        at: datetime = row.at
        return {
            "id": row.id,
            "at": at.isoformat(),
            "actor": row.actor,
            "action": row.action,
            "entity": row.entity,
            "entity_id": row.entity_id,
            "before": row.before,
            "after": row.after,
        }

    return {"entries": [as_dict(r) for r in rows], "limit": limit, "offset": offset}
