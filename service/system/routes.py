"""Liveness with the database's state: 200 with versions, 503 with the reason when it is down."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service import __version__
from service.database import get_engine, versions
from service.errors import problem_response
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz() -> JSONResponse:
    try:
        found = versions(get_engine())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return problem_response(
            503,
            f"database unavailable: {reason}",
            title="Service Unavailable",
            instance="/healthz",
            database="down",
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "version": __version__, "database": "up", **found})
