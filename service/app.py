"""App assembly: settings → database → routers; ``create_app`` is the factory uvicorn calls."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import import_module

import anyio.to_thread
from fastapi import Depends, FastAPI

from service import __version__
from service.compression import GzipMiddleware
from service.cors import install as install_cors
from service.database import get_engine
from service.db_roles import warn_if_superuser
from service.dependencies import current_principal
from service.errors import COMMON_ERROR_RESPONSES, install_error_handlers
from service.head_requests import HeadAsGetMiddleware
from service.middleware import BodyLimitMiddleware, ReadYourWritesMiddleware, SecurityHeadersMiddleware
from service.openapi30 import as_openapi30
from service.rate_limits import install as install_rate_limits
from service.settings import Settings, get_settings

# Each module exposes ``router``; it may also expose ``install(app)`` for mounts (static files ...).
# Order matters where paths overlap: the OGC landing page owns "/".
ROUTER_MODULES = (
    "service.system.routes",
    "service.web.routes",
    "service.accounts.routes",
    "service.layers.routes",
    "service.geocoding.routes",
    "service.projects.routes",
    "service.progress.routes",
    "service.units.routes",
    "service.ledger.routes",
    "service.tasks.routes",
    "service.milestones.routes",
    "service.review_pages.routes",
    "service.layer_pages.routes",
    "service.evaluations.routes",
    "service.plan_uploads.routes",
    "service.case_pages.routes",  # case routes match integer ids only ({case_id:int}): /cases/new is the form
    "service.monthly_sheets.routes",
    "service.case_reports.routes",
    "service.screening.routes",
    "service.cases.routes",
    "service.case_list.routes",
    "service.maps.routes",
    "service.ogc.routes",
)

SELF_GUARDED = ("service.system.routes", "service.web.routes")

DESCRIPTION = """
xiangmap puts the Chang-Zhu-Tan (长株潭) work-plan projects on PostGIS layers and serves them as
OGC API - Features / Tiles, GeoJSON, downloads and Folium web maps, with protected-zone screening.
"""


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # sync endpoints run on anyio's thread pool: sized to the connection pool, not anyio's default 40
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        # what was loaded at start-up (GDAL, pandas, Folium ...) lives for the whole process: keeping it
        # out of the collector's generations makes each full collection short, not a pause of every request
        gc.collect()
        gc.freeze()
        warn_if_superuser(get_engine())  # a loud log line when the service holds a superuser's rights
        yield

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    explicit = settings
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = FastAPI(
        title="xiangmap",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # service.web.routes serves /docs from the local Swagger UI (offline)
        redoc_url=None,
        responses=COMMON_ERROR_RESPONSES,
        lifespan=_lifespan(settings),
    )
    # settings given here win over the process's for the private-reads check (service.dependencies)
    app.state.settings = explicit
    install_error_handlers(app)
    install_rate_limits(app, settings)  # app.state.rate_limits; None when XIANGMAP_RATE_LIMITS_ENABLED=false
    mb = 1024 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        body_limit=settings.max_body_mb * mb,
        upload_limit=settings.max_upload_mb * mb,
        layer_upload_limit=settings.max_layer_upload_mb * mb,
    )
    if settings.replica_urls:  # reads routed to hot standbys: a writer reads its own write (issue 21)
        app.add_middleware(ReadYourWritesMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, public_reads=not settings.private_reads)
    app.add_middleware(GzipMiddleware)  # outside the headers policy: it sees their final ETag (decision 0133)
    install_cors(app, settings)  # outermost: preflights answered before anything else (decision 0130)
    for name in ROUTER_MODULES:
        module = import_module(name)
        # every route but the health check knows its caller; with private_reads that means a token is needed
        # (the sign-in pages resolve the caller themselves: /login must open with private reads)
        guard = [] if name in SELF_GUARDED else [Depends(current_principal)]
        app.include_router(module.router, dependencies=guard)
        install = getattr(module, "install", None)
        if install is not None:
            install(app)
    app.openapi = as_openapi30(app.openapi)  # type: ignore[method-assign]  # what oas30 promises (service/openapi30.py)
    app.add_middleware(HeadAsGetMiddleware, routes=lambda: app.routes)  # HEAD wherever GET works; outermost
    return app
