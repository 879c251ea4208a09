"""Downloads of a whole collection (with the items filters) at stable URLs QGIS opens as a layer.

``/collections/{id}/download.{geojson|geojsonseq|csv|kml}`` stream; ``download.{gpkg|fgb|shp.zip}``
are written by GDAL to a cache file and served with Range support.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from service.database import get_engine
from service.errors import RATE_LIMITED_RESPONSES, Problem
from service.ogc import downloads
from service.ogc.crs import content_crs_header
from service.ogc.documents import DOWNLOAD_FORMATS
from service.ogc.query import parse_items_query
from service.ogc.registry import get_collection
from service.rate_limits import rate_limited
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API - downloads"])


@router.head(
    "/collections/{collectionId}/download.{fmt}", include_in_schema=False, dependencies=[rate_limited("downloads")]
)
@router.get(
    "/collections/{collectionId}/download.{fmt}",
    summary="The whole collection as geojson, geojsonseq, gpkg, shp.zip, kml, csv or fgb (items filters apply)",
    dependencies=[rate_limited("downloads")],
    responses=RATE_LIMITED_RESPONSES,
)
def download(request: Request, collectionId: str, fmt: str) -> Response:
    if fmt not in DOWNLOAD_FORMATS:
        raise Problem(404, f"download format {fmt!r} is unknown; use one of {', '.join(DOWNLOAD_FORMATS)}")
    engine = get_engine()
    collection = get_collection(engine, collectionId)
    query = parse_items_query(request.query_params.multi_items(), collection, paged=False)
    media_type = DOWNLOAD_FORMATS[fmt][0]
    filename = f"{collection.id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **content_crs_header(query.crs)}
    if fmt in downloads.GDAL_FORMATS:
        request_key = f"{collection.id}|{fmt}|{sorted(request.query_params.multi_items())}"
        path = downloads.cached_file(engine, collection, query, fmt, request_key)
        return FileResponse(path, media_type=media_type, headers=headers)
    if fmt == "csv":
        body = downloads.csv_stream(engine, collection, query)
        media_type = "text/csv; charset=utf-8"
    elif fmt == "kml":
        body = downloads.kml_stream(engine, collection, query)
    else:
        body = downloads.geojson_stream(engine, collection, query, sequence=fmt == "geojsonseq")
    return StreamingResponse(body, media_type=media_type, headers=headers)
