"""What an OGC client does: the documents, a collection, its queryables, an items page, one item,
tilesets and tiles, a download.

The routes parse the request (``service.ogc.query``, ``service.ogc.negotiate``), authorise, call one
function here and shape the Response (status, headers, templates, the response cache). Everything here
takes plain values: the public base URL, the request path and its query string as (name, value) pairs,
already-parsed ``ItemsQuery`` objects; no Starlette Request.

These functions take the Engine, not a Session, on purpose: OGC reads are the performance exception of
decisions 0083, 0084 and 0100 (the page is built in one SQL statement and read over the raw psycopg
connection, outside the ORM); nothing here writes, so there is no transaction or audit entry to own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.errors import Problem
from service.ogc import (
    documents,
    download_crs,
    download_streams,
    downloads,
    features,
    openapi_parameters,
    registry,
    styles,
    tiles,
)
from service.ogc.crs import CrsInfo, content_crs_header
from service.ogc.download_shapefile import DEFAULT_ENCODING, ENCODINGS, parse_encoding
from service.ogc.links import GEOJSON, HTML, JSON, SCHEMA_JSON, QueryItems, base_url, link, page_href, with_format
from service.ogc.query import ItemsQuery
from service.ogc.registry import Collection
from service.ogc.styles import STYLE_MEDIA_TYPE
from service.ogc.tiles import MVT

__all__ = ["GEOJSON", "HTML", "JSON", "MVT", "SCHEMA_JSON", "STYLE_MEDIA_TYPE", "Collection"]

TEMPLATE = "{tileMatrix}/{tileRow}/{tileCol}"
# what a download could not hold as it is (ASCII: English, anything else percent-encoded)
NOTES_HEADER = "X-Xiangmap-Notes"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"


def public_base(request_base_url: str) -> str:
    """The service's public root (``public_url`` behind a proxy, else the request's base URL)."""
    return base_url(request_base_url)


# --- Features: documents ------------------------------------------------------------------------


def landing(base: str) -> dict[str, Any]:
    return documents.landing(base)


def conformance() -> dict[str, Any]:
    return documents.conformance()


def crs_listing(base: str) -> dict[str, Any]:
    return documents.crs_listing(base)


def api_document(engine: Engine, document: dict[str, Any]) -> dict[str, Any]:
    """The API document with the OGC query parameters and one items path per collection (GDAL reads them to
    push ``-where`` down).  Without the database the collection paths are left out, not the document."""
    try:
        found = list(registry.collections(engine).values())
    except SQLAlchemyError:
        found = []
    return openapi_parameters.with_parameters(document, found)


def collections_document(engine: Engine, base: str) -> dict[str, Any]:
    return documents.collections_document(engine, base, registry.collections(engine))


def forget_collections() -> None:
    """The layer catalogue changed (a layer published, retired or restored): serve the change at once."""
    registry.forget()


def set_case_reader(role: str | None, actor: str) -> None:
    """Who reads the OGC API in this request: ``cases`` is offered only as their rights allow."""
    registry.CASE_READER.set((role, actor))


def reader_scope(collection_id: str) -> tuple[str, ...]:
    """The extra key of a cached answer about ``collection_id`` (the reader, for ``cases``)."""
    return registry.reader_scope(collection_id)


def collection(engine: Engine, collection_id: str) -> Collection:
    """The collection by id (404 Problem when there is none); the routes need it to parse a query."""
    return registry.get_collection(engine, collection_id)


def collection_document(engine: Engine, base: str, collection_id: str) -> dict[str, Any]:
    return documents.collection_document(engine, base, registry.get_collection(engine, collection_id))


def queryables(engine: Engine, base: str, collection_id: str) -> tuple[Collection, dict[str, Any]]:
    """The queryables document, with its collection (the HTML page shows both)."""
    found = registry.get_collection(engine, collection_id)
    return found, documents.queryables(base, found)


# --- Features: items ----------------------------------------------------------------------------


@dataclass
class ItemsPage:
    """One page of a collection: the FeatureCollection's members other than the features (``head``),
    the features as PostgreSQL sent them (comma-joined, no brackets) and the response headers."""

    head: dict[str, Any]
    features_json: bytes
    headers: dict[str, str]

    def geojson(self) -> bytes:
        """The FeatureCollection: the head with the features spliced in, without re-encoding them."""
        head = _dumps(self.head)
        return b"".join((head[:-1].encode(), b',"features":[', self.features_json, b"]}"))


def items_page(
    engine: Engine, collection: Collection, query: ItemsQuery, base: str, path: str, query_items: QueryItems
) -> ItemsPage:
    """Read one page (one SQL statement, decision 0083) and build its head: counts, time stamp and the
    paging links, which repeat the request's query string (``query_items``) without ``f``."""
    page = features.read_page(engine, collection, query)
    links = [
        link(page_href(base, path, query_items, query.offset), "self", GEOJSON, "this page"),
        link(with_format(base, path, query_items, "html"), "alternate", HTML, "this page as HTML"),
        link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
    ]
    if page.has_more:
        next_href = page_href(base, path, query_items, query.offset + query.limit)
        links.append(link(next_href, "next", GEOJSON, "next page"))
    if query.offset > 0:
        previous = max(0, query.offset - query.limit)
        links.append(link(page_href(base, path, query_items, previous), "prev", GEOJSON, "previous page"))
    head: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberReturned": page.returned,
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if page.number_matched is not None:
        head["numberMatched"] = page.number_matched
        head["numberMatchedIsEstimate"] = page.matched_is_estimate
    head["links"] = links
    return ItemsPage(head, page.features_json, content_crs_header(query.crs))


@dataclass
class Item:
    """One feature as PostgreSQL sent it, its links and the response headers."""

    feature_json: str
    links: list[dict[str, Any]]
    headers: dict[str, str]

    def geojson(self) -> bytes:
        return (self.feature_json[:-1] + ',"links":' + _dumps(self.links) + "}").encode()


def item(engine: Engine, collection: Collection, feature_id: str, crs: CrsInfo, base: str) -> Item:
    """One feature (404 Problem when there is none) in ``crs``, with its self/alternate/collection links."""
    feature_json = features.read_feature(engine, collection, feature_id, crs)
    here = f"{base}/collections/{collection.id}"
    links = [
        link(f"{here}/items/{feature_id}", "self", GEOJSON, "this feature"),
        link(f"{here}/items/{feature_id}?f=html", "alternate", HTML, "this feature as HTML"),
        link(here, "collection", JSON, collection.title),
    ]
    return Item(feature_json, links, content_crs_header(crs))


# --- Tiles ---------------------------------------------------------------------------------------


def _check_tms(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != tiles.TMS_ID:
        raise Problem(
            404,
            f"tile matrix set {tile_matrix_set_id!r} is not served; use {tiles.TMS_ID}",
            parameter="tileMatrixSetId",
        )


def _tileset_links(base: str, found: Collection) -> list[dict[str, Any]]:
    here = f"{base}/collections/{found.id}/tiles/{tiles.TMS_ID}"
    return [
        link(here, "self", JSON, f"{found.id} vector tiles"),
        link(f"{base}/tileMatrixSets/{tiles.TMS_ID}", "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON),
        link(f"{here}/{TEMPLATE}", "item", MVT, "a tile", templated=True),
        link(f"{here}/tilejson.json", "describedby", JSON, "TileJSON"),
    ]


def tile_matrix_sets(base: str) -> dict[str, Any]:
    href = f"{base}/tileMatrixSets/{tiles.TMS_ID}"
    return {"tileMatrixSets": [{"id": tiles.TMS_ID, "uri": tiles.TMS_URI, "links": [link(href, "self", JSON)]}]}


def tile_matrix_set(tile_matrix_set_id: str) -> dict[str, Any]:
    """The definition of the one tile matrix set served (404 Problem for any other)."""
    _check_tms(tile_matrix_set_id)
    return tiles.tile_matrix_set()


def tilesets(engine: Engine, base: str, collection_id: str) -> dict[str, Any]:
    found = registry.get_collection(engine, collection_id)
    return {
        "links": [link(f"{base}/collections/{found.id}/tiles", "self", JSON)],
        "tilesets": [
            {
                "title": found.title,
                "dataType": "vector",
                "crs": WEB_MERCATOR,
                "tileMatrixSetURI": tiles.TMS_URI,
                "links": _tileset_links(base, found),
            }
        ],
    }


def tileset(engine: Engine, base: str, collection_id: str, tile_matrix_set_id: str) -> dict[str, Any]:
    _check_tms(tile_matrix_set_id)
    found = registry.get_collection(engine, collection_id)
    return {
        "title": found.title,
        "dataType": "vector",
        "crs": WEB_MERCATOR,
        "tileMatrixSetURI": tiles.TMS_URI,
        "links": _tileset_links(base, found),
        "layers": [
            {
                "id": found.id,
                "dataType": "vector",
                "geometryType": found.geometry_type,
                "propertiesSchema": {
                    "type": "object",
                    "properties": {f.name: {"type": f.json_type[0]} for f in tiles.tile_fields(found)},
                },
            }
        ],
    }


WORLD = [-180.0, -85.0511, 180.0, 85.0511]
# TileJSON's field descriptions in the words Mapbox / MapLibre tooling and QGIS show
FIELD_TYPES = {"string": "String", "integer": "Number", "number": "Number", "boolean": "Boolean"}


def _bbox(engine: Engine, found: Collection) -> list[float]:
    """The collection's extent, clamped to Web Mercator's latitudes (the world when it has no rows)."""
    bbox = features.extent(engine, found).get("spatial", {}).get("bbox", [WORLD])[0]
    return [max(bbox[0], WORLD[0]), max(bbox[1], WORLD[1]), min(bbox[2], WORLD[2]), min(bbox[3], WORLD[3])]


def _view(bbox: list[float]) -> tuple[float, float, int]:
    return (round((bbox[0] + bbox[2]) / 2, 6), round((bbox[1] + bbox[3]) / 2, 6), tiles.zoom_for_bbox(bbox))


def _tilejson_url(base: str, collection_id: str) -> str:
    return f"{base}/collections/{collection_id}/tiles/{tiles.TMS_ID}/tilejson.json"


def tilejson(engine: Engine, base: str, collection_id: str, tile_matrix_set_id: str) -> dict[str, Any]:
    """TileJSON 3.0.0 as MapLibre's vector source and QGIS's vector tile connection read it: the tile
    template, zooms, bounds, center and the one vector layer with the fields its tiles carry."""
    _check_tms(tile_matrix_set_id)
    found = registry.get_collection(engine, collection_id)
    bbox = _bbox(engine, found)
    url = f"{base}/collections/{found.id}/tiles/{tiles.TMS_ID}/{{z}}/{{y}}/{{x}}"
    lon, lat, zoom = _view(bbox)
    return {
        "tilejson": "3.0.0",
        "name": found.title,
        "description": found.description,
        "attribution": "xiangmap",
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": bbox,
        "center": [lon, lat, zoom],
        "vector_layers": [
            {
                "id": found.id,
                "description": found.title,
                "fields": {f.name: FIELD_TYPES.get(f.json_type[0], "String") for f in tiles.tile_fields(found)},
                "minzoom": 0,
                "maxzoom": tiles.MAX_ZOOM,
            }
        ],
    }


# --- Styles --------------------------------------------------------------------------------------


def _style_entry(href: str, title: str) -> dict[str, Any]:
    return {
        "id": styles.STYLE_ID,
        "title": title,
        "links": [link(href, "stylesheet", STYLE_MEDIA_TYPE, "MapLibre / Mapbox style (Style Spec v8)")],
    }


def styles_list(engine: Engine, base: str, collection_id: str | None = None) -> dict[str, Any]:
    """The styles of the service (``/styles``) or of one collection (``/collections/{id}/styles``)."""
    if collection_id is None:
        here, title = f"{base}/styles", "every collection, projects by status"
    else:
        found = registry.get_collection(engine, collection_id)
        here, title = f"{base}/collections/{found.id}/styles", found.title
    return {
        "default": styles.STYLE_ID,
        "styles": [_style_entry(f"{here}/{styles.STYLE_ID}", title)],
        "links": [link(here, "self", JSON, "the styles")],
    }


def style(engine: Engine, base: str, style_id: str, collection_id: str | None = None) -> dict[str, Any]:
    """The MapLibre style of every collection, or of one (404 Problem for another style id)."""
    if style_id != styles.STYLE_ID:
        raise Problem(404, f"styleId: no style {style_id!r}; use {styles.STYLE_ID}", parameter="styleId")
    if collection_id is None:
        # the per-geometry-kind views (decision 0101) repeat their base collection: drawn once, from the base
        chosen = [c for c in registry.collections(engine).values() if "derived_from" not in c.extra]
        focus = next((c for c in chosen if c.id == "projects"), chosen[0] if chosen else None)
        name = "xiangmap"
    else:
        found = registry.get_collection(engine, collection_id)
        chosen, focus, name = [found], found, f"xiangmap {found.title}"
    view = _view(_bbox(engine, focus)) if focus is not None else _view(WORLD)
    urls = {c.id: _tilejson_url(base, c.id) for c in chosen}
    return styles.style(base, chosen, urls, view, name)


def tile_address(
    engine: Engine, collection_id: str, tile_matrix_set_id: str, tile_matrix: str, tile_row: str, tile_col: str
) -> tuple[Collection, tuple[int, int, int]]:
    """The collection and the (z, y, x) of a tile request, checked in the order the clients rely on:
    the tile matrix set, the collection, then the tile numbers (404/400 Problems)."""
    _check_tms(tile_matrix_set_id)
    found = registry.get_collection(engine, collection_id)
    return found, tiles.check_tile(tile_matrix, tile_row, tile_col)


def tile(engine: Engine, collection: Collection, z: int, y: int, x: int, query: ItemsQuery) -> bytes:
    """One Mapbox Vector Tile (the items filters apply)."""
    return tiles.render_tile(engine, collection, z, y, x, query)


# --- Downloads -----------------------------------------------------------------------------------


def download_format(fmt: str) -> str:
    """The media type of a download format (404 Problem for an unknown one)."""
    if fmt not in documents.DOWNLOAD_FORMATS:
        raise Problem(404, f"download format {fmt!r} is unknown; use one of {', '.join(documents.DOWNLOAD_FORMATS)}")
    return documents.DOWNLOAD_FORMATS[fmt][0]


@dataclass
class Download:
    """A whole-collection download: a cached file (``path``, GDAL formats, served with Range support)
    or a stream of chunks (``body``), with its media type and headers."""

    media_type: str
    headers: dict[str, str]
    path: Path | None = None
    body: Iterator[bytes] | None = None


def download_options(fmt: str, query_items: QueryItems) -> tuple[str, QueryItems]:
    """The download's own parameter (``encoding``, download.shp.zip only: UTF-8 or GBK) and the query
    string without it (the items filters); a 400 naming ``encoding`` for a bad value or another format."""
    given = [value for name, value in query_items if name == "encoding"]
    rest = [(name, value) for name, value in query_items if name != "encoding"]
    if not given:
        return DEFAULT_ENCODING, rest
    if fmt != "shp.zip":
        raise Problem(
            400, f"encoding: only download.shp.zip takes an encoding (download.{fmt} is UTF-8)", parameter="encoding"
        )
    if len(given) > 1:
        raise Problem(400, f"encoding: given {len(given)} times; give it once", parameter="encoding")
    try:
        return parse_encoding(given[0]), rest
    except ValueError:
        raise Problem(
            400,
            f"encoding: {given[0]!r} is not a Shapefile encoding served; use {' or '.join(ENCODINGS)} "
            f"(default {DEFAULT_ENCODING}; GBK for desktop GIS that ignore the .cpg)",
            parameter="encoding",
        ) from None


def download(
    engine: Engine,
    collection: Collection,
    query: ItemsQuery,
    fmt: str,
    query_items: QueryItems,
    encoding: str = DEFAULT_ENCODING,
    *,
    ranged: bool = False,
) -> Download:
    """The collection (items filters applied) as ``fmt``, x/y in a CRS the file names (or a 400 naming
    ``crs``: service.ogc.download_crs): file formats are written once per request and data stamp into
    the cache folder; the text formats stream (their own connection, outliving the request's), except
    for a ``ranged`` request (HEAD or Range: GDAL's /vsicurl/, so QGIS's "Protocol HTTP(S)" layer, asks
    the size first and then reads by ranges), which is written to the cache like a file format and
    served from it with Content-Length and Range support."""
    media_type = download_format(fmt)
    crs = download_crs.file_crs(fmt, query.crs)
    headers = {"Content-Disposition": f'attachment; filename="{collection.id}.{fmt}"', **content_crs_header(crs)}
    if fmt == "csv":
        media_type = "text/csv; charset=utf-8"
    if fmt in downloads.FILE_FORMATS or ranged:
        request_key = f"{collection.id}|{fmt}|{sorted(query_items)}|{encoding}"
        options = downloads.FileOptions(crs, encoding)
        written = downloads.cached_file(engine, collection, query, fmt, request_key, options)
        if written.notes:
            headers[NOTES_HEADER] = _ascii(" | ".join(written.notes))
        return Download(media_type, headers, path=written.path)
    return Download(media_type, headers, body=download_streams.stream(engine, collection, query, fmt, crs))


def _ascii(text: str) -> str:
    """A header value: printable ASCII as it is, anything else percent-encoded (UTF-8)."""
    return "".join(c if c.isascii() and c.isprintable() else quote(c) for c in text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
