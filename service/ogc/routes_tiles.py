"""OGC API - Tiles for every collection: tilesets, tileset metadata, TileJSON and MVT tiles (z/y/x), and
the MapLibre styles that draw them (``/styles``, ``/collections/{id}/styles``; decision 0134).

Thin: parse, call service.ogc.usecases, wrap (JSON, the response cache for tiles, TileJSON and styles, so
each has an ETag from the data version and a 304 on revalidation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from service import data_version
from service.database import get_engine
from service.ogc import usecases
from service.ogc.query import parse_items_query
from service.ogc.usecases import JSON, MVT, STYLE_MEDIA_TYPE
from service.read_routing import run_read
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API - Tiles"])


def _base(request: Request) -> str:
    return usecases.public_base(str(request.base_url))


def _cached_json(request: Request, key: tuple[Any, ...], media_type: str, build: Callable[[], Any]) -> Response:
    """A JSON document built once per data version (it reads the catalogue and extents), with its ETag."""
    engine = get_engine()
    version = data_version.current(engine)

    def built() -> Built:
        return Built(json.dumps(build(), ensure_ascii=False).encode(), media_type, compress=True)

    # about cases (or the style of every collection, which lists them): keyed by the reader too
    scope = usecases.reader_scope("cases") if "cases" in key or key == ("style", key[-1]) else ()
    return response_cache().respond(request, version, (*key, _base(request), *scope), built)


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def tile_matrix_sets(request: Request) -> JSONResponse:
    return JSONResponse(usecases.tile_matrix_sets(_base(request)))


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set definition")
def tile_matrix_set_definition(tileMatrixSetId: str) -> JSONResponse:
    return JSONResponse(usecases.tile_matrix_set(tileMatrixSetId))


@router.get("/collections/{collectionId}/tiles", summary="Vector tilesets of a collection")
def tilesets(request: Request, collectionId: str) -> JSONResponse:
    return JSONResponse(usecases.tilesets(get_engine(), _base(request), collectionId))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="Tileset metadata")
def tileset(request: Request, collectionId: str, tileMatrixSetId: str) -> JSONResponse:
    return JSONResponse(usecases.tileset(get_engine(), _base(request), collectionId, tileMatrixSetId))


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0")
def tilejson(request: Request, collectionId: str, tileMatrixSetId: str) -> Response:
    return _cached_json(
        request,
        ("tilejson", collectionId, tileMatrixSetId),
        JSON,
        lambda: usecases.tilejson(get_engine(), _base(request), collectionId, tileMatrixSetId),
    )


@router.get("/styles", tags=["Styles"], summary="Map styles: one MapLibre style of every collection")
def styles(request: Request) -> JSONResponse:
    return JSONResponse(usecases.styles_list(get_engine(), _base(request)))


@router.get(
    "/styles/{styleId}",
    tags=["Styles"],
    summary="A MapLibre / Mapbox style (Style Spec v8) of every collection, projects by status",
    responses={200: {"content": {STYLE_MEDIA_TYPE: {}}}},
)
def style(request: Request, styleId: str) -> Response:
    return _cached_json(
        request, ("style", styleId), STYLE_MEDIA_TYPE, lambda: usecases.style(get_engine(), _base(request), styleId)
    )


@router.get("/collections/{collectionId}/styles", tags=["Styles"], summary="Map styles of one collection")
def collection_styles(request: Request, collectionId: str) -> JSONResponse:
    return JSONResponse(usecases.styles_list(get_engine(), _base(request), collectionId))


@router.get(
    "/collections/{collectionId}/styles/{styleId}",
    tags=["Styles"],
    summary="A MapLibre / Mapbox style (Style Spec v8) of one collection",
    responses={200: {"content": {STYLE_MEDIA_TYPE: {}}}},
)
def collection_style(request: Request, collectionId: str, styleId: str) -> Response:
    return _cached_json(
        request,
        ("style", styleId, collectionId),
        STYLE_MEDIA_TYPE,
        lambda: usecases.style(get_engine(), _base(request), styleId, collectionId),
    )


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A Mapbox Vector Tile (z/y/x); the items filters (datetime, filter, property=value) apply",
    responses={200: {"content": {MVT: {}}}},
)
def tile(
    request: Request,
    collectionId: str,
    tileMatrixSetId: str,
    tileMatrix: str,
    tileRow: str,
    tileCol: str,
) -> Response:
    # a read that may be slightly stale: a hot standby when there is one (issue 21, service/read_routing.py)
    return run_read(lambda engine: _tile(request, engine, collectionId, tileMatrixSetId, tileMatrix, tileRow, tileCol))


def _tile(
    request: Request,
    engine: Engine,
    collectionId: str,
    tileMatrixSetId: str,
    tileMatrix: str,
    tileRow: str,
    tileCol: str,
) -> Response:
    collection, (z, y, x) = usecases.tile_address(engine, collectionId, tileMatrixSetId, tileMatrix, tileRow, tileCol)
    query = parse_items_query(request.query_params.multi_items(), collection, paged=False)
    version = data_version.current(engine)  # before the data: see service/data_version.py
    key = ("tile", collection.id, z, y, x, tuple(sorted(request.query_params.multi_items())))
    key += usecases.reader_scope(collection.id)
    return response_cache().respond(
        request, version, key, lambda: Built(usecases.tile(engine, collection, z, y, x, query), MVT, compress=True)
    )
