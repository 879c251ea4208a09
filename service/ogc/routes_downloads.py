"""Downloads of a whole collection (with the items filters) at stable URLs QGIS opens as a layer.

``/collections/{id}/download.{geojson|geojsonseq|csv|kml}`` stream; ``download.{gpkg|fgb|shp.zip|xlsx}``
are written to a cache file and served with Range support.  Thin: parse, call
service.ogc.usecases.download, wrap as a FileResponse or a StreamingResponse.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from service.database import get_engine
from service.errors import RATE_LIMITED_RESPONSES
from service.ogc import usecases
from service.ogc.query import parse_items_query
from service.rate_limits import rate_limited
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["OGC API - downloads"])


@router.head(
    "/collections/{collectionId}/download.{fmt}", include_in_schema=False, dependencies=[rate_limited("downloads")]
)
@router.get(
    "/collections/{collectionId}/download.{fmt}",
    summary=(
        "The whole collection as geojson, geojsonseq, gpkg, shp.zip, kml, csv, fgb or xlsx (items filters apply; "
        "x/y in the crs the file names; shp.zip takes encoding=UTF-8|GBK)"
    ),
    dependencies=[rate_limited("downloads")],
    responses=RATE_LIMITED_RESPONSES,
)
def download(request: Request, collectionId: str, fmt: str) -> Response:
    usecases.download_format(fmt)  # an unknown format is a 404 before the collection is looked up
    engine = get_engine()
    collection = usecases.collection(engine, collectionId)
    query_items = request.query_params.multi_items()
    encoding, filters = usecases.download_options(fmt, query_items)
    query = parse_items_query(filters, collection, paged=False)
    ranged = request.method == "HEAD" or "range" in request.headers  # GDAL's /vsicurl/: size first, then ranges
    found = usecases.download(engine, collection, query, fmt, query_items, encoding, ranged=ranged)
    if found.path is not None:
        return FileResponse(found.path, media_type=found.media_type, headers=found.headers)
    return StreamingResponse(found.body, media_type=found.media_type, headers=found.headers)
