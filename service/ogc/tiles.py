"""Mapbox Vector Tiles in WebMercatorQuad, made by PostGIS (ST_AsMVT), and their metadata.

The tile envelope is computed in the database (ST_TileEnvelope); features are picked with the
GiST index on the EPSG:4326 geometry against the envelope (with a 64/4096 margin) transformed
to 4326, then clipped and quantised by ST_AsMVTGeom.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine

from service.common.geometry_guard import display_sql, valid_area
from service.errors import Problem
from service.ogc.query import ItemsQuery, where_sql
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
# a tile or a page is a few milliseconds of work: starting parallel workers costs more than it saves
SERIAL_PLAN = "SET LOCAL max_parallel_workers_per_gather = 0"
ORIGIN = 20037508.3427892
WORLD_SCALE_Z0 = 559082264.028717  # scale denominator of zoom 0 at 0.28 mm pixels
# left out of tiles (still in items and downloads): how a layer row was drawn (service.models.base
# FeatureColumns) and the long texts of a project; decision 0131
NOT_IN_TILES = frozenset(
    {
        *("aliases", "source", "accuracy_m", "verified", "method", "updated_at"),
        *("task_text", "section", "number", "lead_units", "responsible_units", "deadline_text"),
        *("investment_wan", "period"),
    }
)


def check_tile(tile_matrix: str, tile_row: str, tile_col: str) -> tuple[int, int, int]:
    """(z, y, x) as integers; 400 when not integers, 404 when outside the matrix."""
    try:
        z, y, x = int(tile_matrix), int(tile_row), int(tile_col)
    except ValueError:
        raise Problem(
            400, f"tile {tile_matrix}/{tile_row}/{tile_col}: tileMatrix, tileRow and tileCol must be integers"
        ) from None
    if not 0 <= z <= MAX_ZOOM:
        raise Problem(404, f"tileMatrix {z} is outside WebMercatorQuad 0-{MAX_ZOOM}", parameter="tileMatrix")
    size = 1 << z
    if not (0 <= y < size and 0 <= x < size):
        raise Problem(404, f"tile {z}/{y}/{x} is outside tile matrix {z} (0-{size - 1})", parameter="tileRow")
    return z, y, x


def tile_fields(collection: Collection) -> tuple[Field, ...]:
    """The properties a tile carries: what a map draws, filters on and labels (decision 0131).

    A tile is fetched dozens of times a view and every property is repeated in every tile a feature touches;
    the provenance of a drawn geometry and a project's full task text are for the feature's own page, a click
    away: the MVT feature id is the row id, so a client fetches ``/collections/{id}/items/{featureId}``.
    """
    return tuple(f for f in collection.fields if f.name not in NOT_IN_TILES)


def tile_sql(collection: Collection, where: str) -> str:
    props = ", ".join(
        f'CAST({f.sql} AS text) AS "{f.name}"' if f.is_temporal or f.pg_type == "numeric" else f'{f.sql} AS "{f.name}"'
        for f in tile_fields(collection)
    )
    props = f", {props}" if props else ""
    # rows stored before the guard: out of Web Mercator's range they are left out (ST_Transform would fail the
    # tile), over map_simplify_vertices they are drawn as their bounding box (decision 0093)
    servable = f"t.geom @ ST_MakeEnvelope({', '.join(repr(v) for v in valid_area(3857))}, 4326)"
    return f"""
    WITH b AS (
        SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
               ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / EXTENT}), 4326) AS env4326
    )
    SELECT ST_AsMVT(m, %(layer)s, {EXTENT}, 'geom', 'id') FROM (
        SELECT t.id{props},
               ST_AsMVTGeom(ST_Transform({display_sql("t.geom", "t.geom")}, 3857), b.env, {EXTENT}, {BUFFER}, true)
               AS geom
        FROM {collection.source_sql}, b
        WHERE t.geom && b.env4326 AND {servable} AND {where}
    ) m
    """


def render_tile(engine: Engine, collection: Collection, z: int, y: int, x: int, query: ItemsQuery) -> bytes:
    params = SqlParams()
    where = where_sql(collection, query, params)
    values: dict[str, Any] = {**params.values, "z": z, "x": x, "y": y, "layer": collection.id}
    with engine.connect() as conn:
        conn.exec_driver_sql(SERIAL_PLAN)
        data = conn.exec_driver_sql(tile_sql(collection, where), values).scalar_one()
    return bytes(data) if data is not None else b""


def tile_matrix_set() -> dict[str, Any]:
    """The WebMercatorQuad definition (OGC 2D Tile Matrix Set 2.0)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        size = 1 << z
        scale = WORLD_SCALE_Z0 / size
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": scale,
                "cellSize": scale * 0.00028,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-ORIGIN, ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": size,
                "matrixHeight": size,
            }
        )
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "tileMatrices": matrices,
    }


def zoom_for_bbox(bbox: list[float]) -> int:
    """A zoom at which the bbox fills roughly one screen, for TileJSON's center."""
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1e-6)
    return max(0, min(MAX_ZOOM, int(math.log2(360.0 / span)) + 1))
