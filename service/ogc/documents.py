"""The JSON documents of OGC API - Features: landing page, conformance, collections, queryables.

Each takes ``base``, the service's public root (service.ogc.links.base_url), so it needs no HTTP request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from service.ogc.crs import EPSG_URI, GCJ02_URI, STORAGE_SRID, offered, supported_uris
from service.ogc.crs_extent import describe
from service.ogc.features import extent
from service.ogc.links import GEOJSON, HTML, JSON, OPENAPI, SCHEMA_JSON, link
from service.ogc.registry import Collection
from service.ogc.styles import STYLE_MEDIA_TYPE

STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"

FEATURES = "http://www.opengis.net/spec/ogcapi-features-{part}/1.0/conf/{name}"
CONFORMANCE = [
    *(FEATURES.format(part=1, name=n) for n in ("core", "geojson", "html", "oas30")),
    FEATURES.format(part=2, name="crs"),
    *(
        FEATURES.format(part=3, name=n)
        for n in ("queryables", "queryables-query-parameters", "filter", "features-filter")
    ),
    *(
        f"http://www.opengis.net/spec/cql2/1.0/conf/{n}"
        for n in (
            "cql2-text",
            "cql2-json",
            "basic-cql2",
            "advanced-comparison-operators",
            "case-insensitive-comparison",
            "basic-spatial-functions",
            "basic-spatial-functions-plus",
            "spatial-functions",
            "temporal-functions",
            "array-functions",
            "property-property",
            "arithmetic",
        )  # each tested operator by operator in tests/ogc/test_cql2_operators.py (not: accent-insensitive, functions)
    ),
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    *(
        f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{n}"
        for n in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")
    ),
]

DOWNLOAD_FORMATS: dict[str, tuple[str, str]] = {
    # suffix: (media type, title)
    "geojson": ("application/geo+json", "GeoJSON (whole collection)"),
    "geojsonseq": ("application/geo+json-seq", "GeoJSON text sequence (RFC 8142)"),
    "gpkg": ("application/geopackage+sqlite3", "GeoPackage"),
    "shp.zip": ("application/zip", "zipped Shapefile (UTF-8 or encoding=GBK, .cpg, README.txt)"),
    "kml": ("application/vnd.google-earth.kml+xml", "KML"),
    "csv": ("text/csv", "CSV with WKT geometry"),
    "fgb": ("application/flatgeobuf", "FlatGeobuf"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook (XLSX)"),
}


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "xiangmap 长株潭两型社会项目地图",
        "description": "Chang-Zhu-Tan work-plan projects and the layers they are geocoded to, "
        "as OGC API - Features and Tiles.",
        "links": [
            link(f"{base}/", "self", JSON, "this document"),
            link(f"{base}/?f=html", "alternate", HTML, "this document as HTML"),
            link(f"{base}/openapi.json", "service-desc", OPENAPI, "the API definition"),
            link(f"{base}/docs", "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON),
            link(f"{base}/collections", "data", JSON, "the collections"),
            link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON),
            link(f"{base}/styles", STYLES_REL, JSON, "map styles"),
            link(f"{base}/styles/default", "stylesheet", STYLE_MEDIA_TYPE, "MapLibre style of every collection"),
            link(f"{base}/crs", "describedby", JSON, "the CRSs offered, their axes and areas of use"),
        ],
    }


def crs_listing(base: str) -> dict[str, Any]:
    """Every CRS offered (the Part 2 ``crs`` list, then GCJ-02), with axes, area of use and bounds.

    An extension of the standard (docs/ogc.md, "CRS"): Part 2 lists CRS URIs only, so where each may be
    used (and the 400 a box outside it gets) is documented here.
    """
    return {
        "links": [link(f"{base}/crs", "self", JSON, "the CRSs offered")],
        "storageCrs": EPSG_URI.format(code=STORAGE_SRID),
        "crs": [describe(info) for info in offered()],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def collection_document(engine: Engine, base: str, collection: Collection) -> dict[str, Any]:
    here = f"{base}/collections/{collection.id}"
    links = [
        link(here, "self", JSON, "this collection"),
        link(f"{here}?f=html", "alternate", HTML, "this collection as HTML"),
        link(f"{here}/items", "items", GEOJSON, "the features"),
        link(f"{here}/items?f=html", "items", HTML, "the features as HTML"),
        link(f"{here}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA_JSON, "queryables"),
        link(f"{here}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "vector tiles"),
        link(f"{here}/styles", STYLES_REL, JSON, "map styles"),
        link(f"{here}/styles/default", "stylesheet", STYLE_MEDIA_TYPE, "MapLibre style of this collection"),
    ]
    for suffix, (media_type, title) in DOWNLOAD_FORMATS.items():
        links.append(link(f"{here}/download.{suffix}", "enclosure", media_type, title))
    links.append(link(f"{base}/crs", "describedby", JSON, "the CRSs offered, their axes and areas of use"))
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "keywords": list(collection.keywords),
        "itemType": "feature",
        "geometryType": collection.geometry_type,
        "links": links,
        "extent": extent(engine, collection),
        "crs": supported_uris(),
        "storageCrs": EPSG_URI.format(code=STORAGE_SRID),
        # extension: output-only pseudo-CRSs (crs= on items, item, downloads), described at /crs
        "x-xiangmap-outputCrs": [GCJ02_URI],
    }


def collections_document(engine: Engine, base: str, registry: dict[str, Collection]) -> dict[str, Any]:
    return {
        "links": [
            link(f"{base}/collections", "self", JSON, "the collections"),
            link(f"{base}/collections?f=html", "alternate", HTML, "the collections as HTML"),
        ],
        "collections": [collection_document(engine, base, c) for c in registry.values()],
        "crs": supported_uris(),
    }


def queryables(base: str, collection: Collection) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"title": "id", "type": "integer", "x-ogc-role": "id"},
        "geometry": {"title": "geometry", "format": f"geometry-{_geometry_format(collection.geometry_type)}"},
    }
    for f in collection.fields:
        json_type, fmt = f.json_type
        schema: dict[str, Any] = {"title": f.name, "type": json_type}
        if fmt:
            schema["format"] = fmt
        properties[f.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }


def _geometry_format(geometry_type: str) -> str:
    name = geometry_type.lower()
    return "any" if name == "geometry" else name
