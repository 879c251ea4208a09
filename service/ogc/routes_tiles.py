"""OGC API - Tiles for every collection: tilesets, tileset metadata, TileJSON and MVT tiles (z/y/x).

Thin: parse, call service.ogc.usecases, wrap (JSON, the response cache for tiles).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from service import data_version
from service.database import get_engine
from service.ogc import usecases
from service.ogc.query import parse_items_query
from service.ogc.usecases import MVT
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API - Tiles"])


def _base(request: Request) -> str:
    return usecases.public_base(str(request.base_url))


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
def tilejson(request: Request, collectionId: str, tileMatrixSetId: str) -> JSONResponse:
    return JSONResponse(usecases.tilejson(get_engine(), _base(request), collectionId, tileMatrixSetId))


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
    engine = get_engine()
    collection, (z, y, x) = usecases.tile_address(engine, collectionId, tileMatrixSetId, tileMatrix, tileRow, tileCol)
    query = parse_items_query(request.query_params.multi_items(), collection, paged=False)
    version = data_version.current(engine)  # before the data: see service/data_version.py
    key = ("tile", collection.id, z, y, x, tuple(sorted(request.query_params.multi_items())))
    return response_cache().respond(
        request, version, key, lambda: Built(usecases.tile(engine, collection, z, y, x, query), MVT)
    )
