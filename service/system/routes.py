"""Liveness with the database's state: 200 with versions, 503 with the reason when it is down."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service import __version__, read_routing
from service.database import get_engine, versions
from service.errors import problem_response
from service.routing import SessionReleasingRoute
from service.settings import get_settings

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
    body = {"status": "ok", "version": __version__, "database": "up", **found}
    if get_settings().replica_urls:  # the hot standbys this worker reads from, and how far behind (issue 21)
        body["replicas"] = read_routing.router().status()
    return JSONResponse(body)
