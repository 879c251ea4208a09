"""OGC API - Tiles for every collection: tilesets, tileset metadata, TileJSON and MVT tiles (z/y/x)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from service import data_version
from service.database import get_engine
from service.errors import Problem
from service.ogc.features import extent
from service.ogc.links import JSON, base_url, link
from service.ogc.query import parse_items_query
from service.ogc.registry import Collection, get_collection
from service.ogc.tiles import MAX_ZOOM, MVT, TMS_ID, TMS_URI, check_tile, render_tile, tile_matrix_set, zoom_for_bbox
from service.response_cache import Built, response_cache
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API - Tiles"])
TEMPLATE = "{tileMatrix}/{tileRow}/{tileCol}"


def _check_tms(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != TMS_ID:
        raise Problem(
            404, f"tile matrix set {tile_matrix_set_id!r} is not served; use {TMS_ID}", parameter="tileMatrixSetId"
        )


def _tileset_links(request: Request, collection: Collection) -> list[dict[str, Any]]:
    base = base_url(str(request.base_url))
    here = f"{base}/collections/{collection.id}/tiles/{TMS_ID}"
    return [
        link(here, "self", JSON, f"{collection.id} vector tiles"),
        link(f"{base}/tileMatrixSets/{TMS_ID}", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON),
        link(f"{here}/{TEMPLATE}", "item", MVT, "a tile", templated=True),
        link(f"{here}/tilejson.json", "describedby", JSON, "TileJSON"),
    ]


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def tile_matrix_sets(request: Request) -> JSONResponse:
    href = f"{base_url(str(request.base_url))}/tileMatrixSets/{TMS_ID}"
    return JSONResponse({"tileMatrixSets": [{"id": TMS_ID, "uri": TMS_URI, "links": [link(href, "self", JSON)]}]})


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set definition")
def tile_matrix_set_definition(tileMatrixSetId: str) -> JSONResponse:
    _check_tms(tileMatrixSetId)
    return JSONResponse(tile_matrix_set())


@router.get("/collections/{collectionId}/tiles", summary="Vector tilesets of a collection")
def tilesets(request: Request, collectionId: str) -> JSONResponse:
    collection = get_collection(get_engine(), collectionId)
    return JSONResponse(
        {
            "links": [link(f"{base_url(str(request.base_url))}/collections/{collection.id}/tiles", "self", JSON)],
            "tilesets": [
                {
                    "title": collection.title,
                    "dataType": "vector",
                    "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                    "tileMatrixSetURI": TMS_URI,
                    "links": _tileset_links(request, collection),
                }
            ],
        }
    )


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="Tileset metadata")
def tileset(request: Request, collectionId: str, tileMatrixSetId: str) -> JSONResponse:
    _check_tms(tileMatrixSetId)
    collection = get_collection(get_engine(), collectionId)
    return JSONResponse(
        {
            "title": collection.title,
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": TMS_URI,
            "links": _tileset_links(request, collection),
            "layers": [
                {
                    "id": collection.id,
                    "dataType": "vector",
                    "geometryType": collection.geometry_type,
                    "propertiesSchema": {
                        "type": "object",
                        "properties": {f.name: {"type": f.json_type[0]} for f in collection.fields},
                    },
                }
            ],
        }
    )


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0")
def tilejson(request: Request, collectionId: str, tileMatrixSetId: str) -> JSONResponse:
    _check_tms(tileMatrixSetId)
    engine = get_engine()
    collection = get_collection(engine, collectionId)
    bbox = extent(engine, collection).get("spatial", {}).get("bbox", [[-180.0, -85.0511, 180.0, 85.0511]])[0]
    url = f"{base_url(str(request.base_url))}/collections/{collection.id}/tiles/{TMS_ID}/{{z}}/{{y}}/{{x}}"
    return JSONResponse(
        {
            "tilejson": "3.0.0",
            "name": collection.title,
            "description": collection.description,
            "scheme": "xyz",
            "tiles": [url],
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
            "bounds": bbox,
            "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, zoom_for_bbox(bbox)],
            "vector_layers": [
                {
                    "id": collection.id,
                    "fields": {f.name: f.json_type[0] for f in collection.fields},
                    "minzoom": 0,
                    "maxzoom": MAX_ZOOM,
                }
            ],
        }
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
    _check_tms(tileMatrixSetId)
    engine = get_engine()
    collection = get_collection(engine, collectionId)
    z, y, x = check_tile(tileMatrix, tileRow, tileCol)
    query = parse_items_query(request.query_params.multi_items(), collection, paged=False)
    version = data_version.current(engine)  # before the data: see service/data_version.py
    key = ("tile", collection.id, z, y, x, tuple(sorted(request.query_params.multi_items())))
    return response_cache().respond(
        request, version, key, lambda: Built(render_tile(engine, collection, z, y, x, query), MVT)
    )
