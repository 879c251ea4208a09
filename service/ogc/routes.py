"""OGC API - Features (Part 1, 2, 3): landing page, conformance, collections, items, queryables.

Thin: parse, call service.ogc, wrap.  Tiles and downloads are sub-routers in ogc_tiles.py and
ogc_downloads.py.  Every JSON link is absolute; paging links never carry ``f``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from service import data_version
from service.database import get_engine
from service.errors import Problem
from service.ogc import documents
from service.ogc import routes_downloads as ogc_downloads
from service.ogc import routes_tiles as ogc_tiles
from service.ogc.crs import content_crs_header, parse_crs
from service.ogc.features import Page, read_feature, read_page
from service.ogc.links import GEOJSON, HTML, JSON, base_url, link, page_href, with_format
from service.ogc.negotiate import wants_html
from service.ogc.query import ItemsQuery, parse_items_query
from service.ogc.registry import Collection, collections, get_collection
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute
from service.settings import PROJECT_ROOT

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API"])
router.include_router(ogc_tiles.router)
router.include_router(ogc_downloads.router)
templates = Jinja2Templates(directory=str(PROJECT_ROOT / "service" / "templates"))


def _base(request: Request) -> str:
    """The service's public root for this request (``public_url`` behind a proxy)."""
    return base_url(str(request.base_url))


def _wants_html(request: Request) -> bool:
    return wants_html(request.query_params.get("f"), request.headers.get("accept", ""))


def _html(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, f"ogc/{template}", {"base": _base(request), **context})


@router.get("/", summary="Landing page")
def landing(request: Request) -> Response:
    document = documents.landing(_base(request))
    if _wants_html(request):
        return _html(request, "landing.html", doc=document)
    return JSONResponse(document)


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request) -> Response:
    document = documents.conformance()
    if _wants_html(request):
        return _html(request, "conformance.html", doc=document)
    return JSONResponse(document)


@router.get("/collections", summary="Feature collections: every layer and projects")
def list_collections(request: Request) -> Response:
    engine = get_engine()
    document = documents.collections_document(engine, _base(request), collections(engine))
    if _wants_html(request):
        return _html(request, "collections.html", doc=document)
    return JSONResponse(document)


@router.get("/collections/{collectionId}", summary="One collection")
def describe_collection(request: Request, collectionId: str) -> Response:
    engine = get_engine()
    document = documents.collection_document(engine, _base(request), get_collection(engine, collectionId))
    if _wants_html(request):
        return _html(request, "collection.html", doc=document)
    return JSONResponse(document)


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filters and sortby")
def queryables(request: Request, collectionId: str) -> Response:
    collection = get_collection(get_engine(), collectionId)
    document = documents.queryables(_base(request), collection)
    if _wants_html(request):
        return _html(request, "queryables.html", doc=document, collection=collection)
    return JSONResponse(document, media_type="application/schema+json")


@router.get(
    "/collections/{collectionId}/items",
    summary="Features, paged; bbox, datetime, properties, sortby, property equality, CQL2 filter, crs",
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(request: Request, collectionId: str) -> Response:
    engine = get_engine()
    collection = get_collection(engine, collectionId)
    html = _wants_html(request)
    query = parse_items_query(request.query_params.multi_items(), collection)
    if html:
        page = read_page(engine, collection, query)
        head = _page_head(request, collection, query, page)
        features = json.loads(b"[" + page.features_json + b"]")
        return _html(request, "items.html", collection=collection, head=head, features=features, query=query)

    def build() -> Built:
        page = read_page(engine, collection, query)
        head = json.dumps(_page_head(request, collection, query, page), ensure_ascii=False)
        body = b"".join((head[:-1].encode(), b',"features":[', page.features_json, b"]}"))
        return Built(body, GEOJSON, content_crs_header(query.crs))

    version = data_version.current(engine)  # before the data: see service/data_version.py
    key = ("items", collection.id, _base(request), tuple(sorted(request.query_params.multi_items())))
    return response_cache().respond(request, version, key, build)


def _page_head(request: Request, collection: Collection, query: ItemsQuery, page: Page) -> dict[str, Any]:
    """The FeatureCollection's members other than the features: counts, time stamp and paging links."""
    base, path, items = _base(request), request.url.path, request.query_params.multi_items()
    links = [
        link(page_href(base, path, items, query.offset), "self", GEOJSON, "this page"),
        link(with_format(base, path, items, "html"), "alternate", HTML, "this page as HTML"),
        link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
    ]
    if page.has_more:
        links.append(link(page_href(base, path, items, query.offset + query.limit), "next", GEOJSON, "next page"))
    if query.offset > 0:
        previous = max(0, query.offset - query.limit)
        links.append(link(page_href(base, path, items, previous), "prev", GEOJSON, "previous page"))
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberReturned": page.returned,
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if page.number_matched is not None:
        head["numberMatched"] = page.number_matched
        head["numberMatchedIsEstimate"] = page.matched_is_estimate
    head["links"] = links
    return head


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature",
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(request: Request, collectionId: str, featureId: str) -> Response:
    engine = get_engine()
    collection = get_collection(engine, collectionId)
    html = _wants_html(request)
    for name in request.query_params:
        if name not in ("f", "crs"):
            raise Problem(400, f"{name}: unknown query parameter for a single feature; use crs or f", parameter=name)
    crs = parse_crs(request.query_params.get("crs"), "crs")
    feature_json = read_feature(engine, collection, featureId, crs)
    here = f"{_base(request)}/collections/{collection.id}"
    links = [
        link(f"{here}/items/{featureId}", "self", GEOJSON, "this feature"),
        link(f"{here}/items/{featureId}?f=html", "alternate", HTML, "this feature as HTML"),
        link(here, "collection", JSON, collection.title),
    ]
    if html:
        return _html(request, "item.html", collection=collection, feature=json.loads(feature_json), links=links)
    body = feature_json[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return Response(body.encode(), media_type=GEOJSON, headers=content_crs_header(crs))
