"""OGC API - Features (Part 1, 2, 3): landing page, conformance, collections, items, queryables.

Thin: parse (service.ogc.query, service.ogc.negotiate), call service.ogc.usecases, wrap (templates,
the response cache, headers).  Tiles and downloads are sub-routers in routes_tiles.py and
routes_downloads.py.  Every JSON link is absolute; paging links never carry ``f``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from service import data_version
from service.database import get_engine
from service.dependencies import current_principal
from service.ogc import routes_downloads as ogc_downloads
from service.ogc import routes_tiles as ogc_tiles
from service.ogc import usecases
from service.ogc.negotiate import wants_html
from service.ogc.query import parse_item_query, parse_items_query
from service.ogc.usecases import GEOJSON, SCHEMA_JSON
from service.read_routing import run_read
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import PROJECT_ROOT


async def case_reader(principal: Principal = Depends(current_principal)) -> None:
    """Every OGC request says who reads (async: the context variable reaches the endpoint's thread)."""
    usecases.set_case_reader(principal.role, principal.name)


router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API"], dependencies=[Depends(case_reader)])
router.include_router(ogc_tiles.router)
router.include_router(ogc_downloads.router)
templates = Jinja2Templates(directory=str(PROJECT_ROOT / "service" / "templates"))


def install(app: FastAPI) -> None:
    """Describe the query parameters the OGC routes read themselves (and one items path per collection)
    in /openapi.json: FastAPI cannot see them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return usecases.api_document(get_engine(), build())

    app.openapi = openapi  # type: ignore[method-assign]


def _base(request: Request) -> str:
    """The service's public root for this request (``public_url`` behind a proxy)."""
    return usecases.public_base(str(request.base_url))


def _wants_html(request: Request) -> bool:
    return wants_html(request.query_params.get("f"), request.headers.get("accept", ""))


def _html(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, f"ogc/{template}", {"base": _base(request), **context})


@router.get("/", summary="Landing page")
def landing(request: Request) -> Response:
    document = usecases.landing(_base(request))
    if _wants_html(request):
        return _html(request, "landing.html", doc=document)
    return JSONResponse(document)


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request) -> Response:
    document = usecases.conformance()
    if _wants_html(request):
        return _html(request, "conformance.html", doc=document)
    return JSONResponse(document)


@router.get("/crs", summary="The CRSs offered (crs, bbox-crs, filter-crs), their axes and areas of use")
def crs_listing(request: Request) -> JSONResponse:
    return JSONResponse(usecases.crs_listing(_base(request)))


@router.get("/collections", summary="Feature collections: every layer and projects")
def list_collections(request: Request) -> Response:
    document = usecases.collections_document(get_engine(), _base(request))
    if _wants_html(request):
        return _html(request, "collections.html", doc=document)
    return JSONResponse(document)


@router.get("/collections/{collectionId}", summary="One collection")
def describe_collection(request: Request, collectionId: str) -> Response:
    document = usecases.collection_document(get_engine(), _base(request), collectionId)
    if _wants_html(request):
        return _html(request, "collection.html", doc=document)
    return JSONResponse(document)


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filters and sortby")
def queryables(request: Request, collectionId: str) -> Response:
    collection, document = usecases.queryables(get_engine(), _base(request), collectionId)
    if _wants_html(request):
        return _html(request, "queryables.html", doc=document, collection=collection)
    return JSONResponse(document, media_type=SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features, paged; bbox, datetime, properties, sortby, property equality, CQL2 filter, crs",
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(request: Request, collectionId: str) -> Response:
    # a read that may be slightly stale: a hot standby when there is one (issue 21, service/read_routing.py)
    return run_read(lambda engine: _items(request, collectionId, engine))


def _items(request: Request, collectionId: str, engine: Engine) -> Response:
    collection = usecases.collection(engine, collectionId)
    html = _wants_html(request)
    query_items = request.query_params.multi_items()
    query = parse_items_query(query_items, collection)
    base, path = _base(request), request.url.path

    def page() -> usecases.ItemsPage:
        return usecases.items_page(engine, collection, query, base, path, query_items)

    if html:
        found = page()
        features = json.loads(b"[" + found.features_json + b"]")
        return _html(request, "items.html", collection=collection, head=found.head, features=features, query=query)

    def build() -> Built:
        found = page()
        return Built(found.geojson(), GEOJSON, found.headers, compress=True)  # gzipped once per data version

    version = data_version.current(engine)  # before the data: see service/data_version.py
    key = ("items", collection.id, base, tuple(sorted(query_items)), *usecases.reader_scope(collection.id))
    return response_cache().respond(request, version, key, build)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature",
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(request: Request, collectionId: str, featureId: str) -> Response:
    return run_read(lambda engine: _item(request, collectionId, featureId, engine))


def _item(request: Request, collectionId: str, featureId: str, engine: Engine) -> Response:
    collection = usecases.collection(engine, collectionId)
    html = _wants_html(request)
    crs = parse_item_query(request.query_params.multi_items())
    found = usecases.item(engine, collection, featureId, crs, _base(request))
    if html:
        feature = json.loads(found.feature_json)
        return _html(request, "item.html", collection=collection, feature=feature, links=found.links)
    return Response(found.geojson(), media_type=GEOJSON, headers=found.headers)
