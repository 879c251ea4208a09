"""Items and item as GeoJSON text built entirely in PostgreSQL, one round trip per page.

Each feature is concatenated as text in SQL (``ST_AsGeoJSON`` is spliced in as text, never
re-parsed as json), the page is aggregated with ``string_agg``, and Python only wraps it.  The
page query fetches ``limit + 1`` rows so that ``next`` is known without counting.  ``numberMatched``
is exact when the page itself proves it, or when the planner expects fewer rows than
``ogc_exact_count_below``; otherwise it is the planner's estimate and the response says so
(docs/decisions/0030-number-matched-estimate.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from service.errors import Problem
from service.ogc.crs import CrsInfo, output_geometry_sql
from service.ogc.query import ItemsQuery, order_sql, where_sql
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams
from service.settings import get_settings

MAX_JSON_ARGS = 100  # PostgreSQL's limit on function arguments


def selected_fields(collection: Collection, properties: list[str] | None) -> list[Field]:
    if properties is None:
        return list(collection.fields)
    return [collection.field_map[name] for name in properties]


def properties_sql(fields: list[Field]) -> str:
    """``json_build_object`` over the fields, split in chunks below PostgreSQL's argument limit."""
    if not fields:
        return "'{}'::json"
    chunks = []
    per_chunk = MAX_JSON_ARGS // 2
    for i in range(0, len(fields), per_chunk):
        args = ", ".join(f"'{f.name}', {f.sql}" for f in fields[i : i + per_chunk])
        chunks.append(f"json_build_object({args})")
    if len(chunks) == 1:
        return chunks[0]
    return "(" + " || ".join(f"{c}::jsonb" for c in chunks) + ")::json"


def feature_text_sql(collection: Collection, crs: CrsInfo, properties: list[str] | None) -> str:
    """SQL text expression for one GeoJSON Feature over alias ``t``."""
    geometry = f"ST_AsGeoJSON({output_geometry_sql('t.geom', crs)}, {crs.decimals})"
    props = properties_sql(selected_fields(collection, properties))
    return (
        '\'{"type":"Feature","id":\' || t.id || \',"geometry":\' || '
        f"COALESCE({geometry}, 'null') || ',\"properties\":' || {props}::text || '}}'"
    )


@dataclass
class Page:
    features_json: str  # the comma-joined features, without brackets
    returned: int
    has_more: bool
    number_matched: int | None
    matched_is_estimate: bool


def _estimate(conn: Any, collection: Collection, where: str, params: dict[str, Any]) -> int:
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {collection.source_sql} WHERE {where}", params)
    document = plan.scalar_one()
    if isinstance(document, str):
        document = json.loads(document)
    return int(document[0]["Plan"]["Plan Rows"])


def number_matched(conn: Any, collection: Collection, where: str, params: dict[str, Any]) -> tuple[int, bool]:
    """(count, is_estimate): exact below the threshold, the planner's estimate above it."""
    estimate = _estimate(conn, collection, where, params)
    if estimate < get_settings().ogc_exact_count_below:
        exact = conn.exec_driver_sql(f"SELECT count(*) FROM {collection.source_sql} WHERE {where}", params)
        return int(exact.scalar_one()), False
    return estimate, True


def page_sql(collection: Collection, query: ItemsQuery) -> tuple[str, str, dict[str, Any]]:
    """(page SQL, WHERE, parameters): one row with the fetched count and the comma-joined features."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    feature = feature_text_sql(collection, query.crs, query.properties)
    limit, offset = int(query.limit), int(query.offset)
    sql = (
        f"SELECT count(*), COALESCE(string_agg(f, ',') FILTER (WHERE n <= {limit}), '') FROM ("
        f"SELECT row_number() OVER () AS n, f FROM ("
        f"SELECT {feature} AS f FROM {collection.source_sql} WHERE {where} "
        f"ORDER BY {order_sql(collection, query)} LIMIT {limit + 1} OFFSET {offset}) q) r"
    )
    return sql, where, params.values


def read_page(engine: Engine, collection: Collection, query: ItemsQuery) -> Page:
    sql, where, params = page_sql(collection, query)
    limit, offset = int(query.limit), int(query.offset)
    with engine.connect() as conn:
        fetched, features_json = conn.exec_driver_sql(sql, params).one()
        fetched = int(fetched)
        returned = min(fetched, limit)
        has_more = fetched > limit
        if not has_more and (returned > 0 or offset == 0):
            matched, estimate = offset + returned, False  # this page proves the total
        else:
            matched, estimate = number_matched(conn, collection, where, params)
            if estimate and has_more:
                matched = max(matched, offset + returned + 1)  # never promise less than we know exists
    return Page(features_json, returned, has_more, matched, estimate)


def read_feature(engine: Engine, collection: Collection, feature_id: str, crs: CrsInfo) -> str:
    """One Feature as GeoJSON text; 404 when there is no such id."""
    try:
        numeric_id = int(feature_id)
    except ValueError:
        raise Problem(
            404, f"featureId: no feature {feature_id!r} in collection {collection.id!r}", parameter="featureId"
        ) from None
    if not -(2**31) <= numeric_id < 2**31:
        raise Problem(
            404, f"featureId: no feature {feature_id!r} in collection {collection.id!r}", parameter="featureId"
        )
    sql = f"SELECT {feature_text_sql(collection, crs, None)} FROM {collection.source_sql} WHERE t.id = %(id)s"
    with engine.connect() as conn:
        row = conn.exec_driver_sql(sql, {"id": numeric_id}).first()
    if row is None:
        raise Problem(
            404, f"featureId: no feature {feature_id!r} in collection {collection.id!r}", parameter="featureId"
        )
    return str(row[0])


def extent(engine: Engine, collection: Collection) -> dict[str, Any]:
    """Spatial (ST_EstimatedExtent where statistics exist, else exact) and temporal extent."""
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        bbox_row = None
        if not collection.source_sql.startswith("("):
            bbox_row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_EstimatedExtent(current_schema(), %(t)s, 'geom')::geometry AS e) x",
                {"t": collection.id},
            ).first()
        if bbox_row is None or bbox_row[0] is None:
            bbox_row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent(t.geom)::geometry AS e FROM {collection.source_sql}) x"
            ).first()
        if bbox_row is not None and bbox_row[0] is not None:
            result["spatial"] = {
                "bbox": [[round(float(v), 7) for v in bbox_row]],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
        if collection.temporal is not None:
            start_col, end_col = collection.temporal
            start_sql = collection.field_map[start_col].sql
            end_sql = collection.field_map[end_col].sql if end_col else start_sql
            times = conn.exec_driver_sql(
                f"SELECT min({start_sql}), CASE WHEN bool_or({end_sql} IS NULL) AND %(open)s THEN NULL "
                f"ELSE max({end_sql}) END FROM {collection.source_sql}",
                {"open": end_col is not None},
            ).first()
            if times is not None and times[0] is not None:
                result["temporal"] = {
                    "interval": [[_iso(times[0]), _iso(times[1])]],
                    "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
                }
    return result


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text + "T00:00:00Z" if len(text) == 10 else text
