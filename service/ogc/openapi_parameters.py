"""The query parameters of items, item and downloads, as OpenAPI 3.0 Parameter Objects.

The routes read ``request.query_params`` themselves (service.ogc.query validates them), so FastAPI
documents none.  GDAL's OAPIF driver decides what it may push down to the server from the API
document: a query parameter of ``/collections/{id}/items`` (the collection's own path first, the
templated path otherwise) named after a field is an equality filter it sends as ``name=value``, and
``filter-lang`` listing CQL2 text lets it send the rest of an OGR ``-where`` as ``filter``.  Without
them ``ogr2ogr -where`` downloaded the whole collection and filtered it locally.  So the templated
path carries the standard parameters, and every collection gets its own items path with its
queryables added (:func:`collection_items_paths`).
"""

from __future__ import annotations

import copy
from typing import Any

from service.ogc.crs import CRS84, GCJ02_URI, supported_uris
from service.ogc.registry import Collection
from service.settings import get_settings

ITEMS_TEMPLATE = "/collections/{collectionId}/items"


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _csv(items: dict[str, Any]) -> dict[str, Any]:
    """A comma-separated list (form style, not exploded): ``bbox=1,2,3,4``."""
    return {"style": "form", "explode": False, "schema": {"type": "array", "items": items}}


def _crs(name: str, description: str, *, output: bool) -> dict[str, Any]:
    uris = supported_uris() + ([GCJ02_URI] if output else [])
    return _query(name, {"type": "string", "enum": uris, "default": CRS84}, description)


def _format() -> dict[str, Any]:
    return _query("f", {"type": "string", "enum": ["json", "html"]}, "json (GeoJSON, the default) or html")


def filter_parameters() -> list[dict[str, Any]]:
    """bbox, datetime and CQL2: what items, tiles and downloads share."""
    bbox = _csv({"type": "number"})
    bbox["schema"] |= {"minItems": 4, "maxItems": 6}
    return [
        {
            "name": "bbox",
            "in": "query",
            "required": False,
            "description": "minx,miny,maxx,maxy (or 6 numbers) in bbox-crs and its axis order; a box wholly "
            "outside bbox-crs's area of use (see /crs) is a 400 that says when its axes look swapped",
            **bbox,
        },
        _crs("bbox-crs", "the CRS of bbox (default CRS84, longitude first)", output=False),
        _query(
            "datetime",
            {"type": "string"},
            "an RFC 3339 date or date-time, or an interval start/end with .. for open ends",
        ),
        _query("filter", {"type": "string"}, "a CQL2 filter over the queryables (text or JSON, see filter-lang)"),
        _query(
            "filter-lang",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
            "the filter's encoding",
        ),
        _crs("filter-crs", "the CRS of the filter's geometry literals (default CRS84)", output=False),
    ]


def items_parameters() -> list[dict[str, Any]]:
    """Every standard parameter of ``/collections/{collectionId}/items``."""
    settings = get_settings()
    limit = {"type": "integer", "minimum": 1, "maximum": settings.page_limit_max}
    limit["default"] = settings.page_limit_default
    return [
        _query("limit", limit, f"page size; a larger one is served as {settings.page_limit_max}"),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip (paging)"),
        *filter_parameters(),
        {"name": "properties", "in": "query", "required": False, "description": "which properties to return",
         **_csv({"type": "string"})},
        {"name": "sortby", "in": "query", "required": False,
         "description": "sort keys, each optionally prefixed with - (descending) or +", **_csv({"type": "string"})},
        _crs("crs", "the CRS of the response's geometries, in its own axis order (see /crs); Content-Crs names it",
             output=True),
        _format(),
    ]  # fmt: skip


def item_parameters() -> list[dict[str, Any]]:
    return [_crs("crs", "the CRS of the feature's geometry (see /crs)", output=True), _format()]


def download_parameters() -> list[dict[str, Any]]:
    """A download takes the items filters; no paging but an optional limit (0, the default, is everything)."""
    return [
        _query("limit", {"type": "integer", "minimum": 0, "default": 0}, "at most this many features (0: all)"),
        _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
        *filter_parameters(),
        {"name": "properties", "in": "query", "required": False, "description": "which properties to write",
         **_csv({"type": "string"})},
        {"name": "sortby", "in": "query", "required": False, "description": "sort keys", **_csv({"type": "string"})},
        _crs("crs", "the CRS of the file's geometries (files keep x=east, y=north order)", output=True),
        _query("encoding", {"type": "string", "enum": ["UTF-8", "GBK"], "default": "UTF-8"},
               "shp.zip only: the .dbf text encoding, named in the .cpg (decision 0111)"),
    ]  # fmt: skip


def queryable_parameters(collection: Collection) -> list[dict[str, Any]]:
    """``name=value`` equality on each queryable (membership for the ``; ``-joined unit lists), and ``id``."""
    found = [_query("id", {"type": "integer"}, "the feature with this id")]
    for f in collection.fields:
        json_type, fmt = f.json_type
        schema: dict[str, Any] = {"type": json_type}
        if fmt:
            schema["format"] = fmt
        what = "features whose list holds this value" if f.is_array else "features whose value equals this"
        found.append(_query(f.name, schema, f"{f.name}: {what}"))
    return found


DOWNLOAD_TEMPLATE = "/collections/{collectionId}/download.{fmt}"
ITEM_TEMPLATE = "/collections/{collectionId}/items/{featureId}"
TILE_TEMPLATE = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"


def with_parameters(document: dict[str, Any], collections: list[Collection]) -> dict[str, Any]:
    """A copy of the API document with the query parameters the OGC routes read, and a path per collection."""
    doc = copy.deepcopy(document)
    paths = doc.setdefault("paths", {})
    for path, parameters in (
        (ITEMS_TEMPLATE, items_parameters()),
        (ITEM_TEMPLATE, item_parameters()),
        (DOWNLOAD_TEMPLATE, download_parameters()),
        (TILE_TEMPLATE, [p for p in filter_parameters() if p["name"] not in ("bbox", "bbox-crs")]),
    ):
        operation = paths.get(path, {}).get("get")
        if operation is not None:
            known = {p.get("name") for p in operation.get("parameters", [])}
            operation["parameters"] = operation.get("parameters", []) + [
                p for p in parameters if p["name"] not in known
            ]
            if any(p["name"] == "f" for p in parameters):  # f=html (or a browser's Accept) gives the HTML page
                ok = operation.setdefault("responses", {}).setdefault("200", {"description": "Successful Response"})
                ok.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}
    if ITEMS_TEMPLATE in paths and "get" in paths[ITEMS_TEMPLATE]:
        paths.update(collection_items_paths(paths[ITEMS_TEMPLATE]["get"], collections))
    return doc


def collection_items_paths(template: dict[str, Any], collections: list[Collection]) -> dict[str, Any]:
    """``/collections/{id}/items`` for each collection: the templated operation without its path parameter,
    plus the collection's queryables."""
    paths: dict[str, Any] = {}
    for collection in collections:
        operation = copy.deepcopy(template)
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p.get("name") != "collectionId"
        ] + queryable_parameters(collection)
        operation["operationId"] = f"getItems_{collection.id}"
        operation["summary"] = f"{collection.title}: features (the queryables are parameters)"
        paths[f"/collections/{collection.id}/items"] = {"get": operation}
    return paths
