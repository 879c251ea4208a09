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

from service.database import driver_errors
from service.errors import Problem
from service.ogc.crs import CrsInfo, output_geometry_sql
from service.ogc.query import ItemsQuery, order_sql, order_terms, where_sql
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


def feature_text_sql(
    collection: Collection, crs: CrsInfo, properties: list[str] | None, *, crs_in_geometry: bool = True
) -> str:
    """SQL text expression for one GeoJSON Feature over alias ``t``.

    ``crs_in_geometry=False`` leaves out the ``crs`` member PostGIS adds to each geometry outside
    EPSG:4326: a download says its CRS once, on the FeatureCollection (service.ogc.download_crs)."""
    options = "" if crs_in_geometry else ", 0"
    geometry = f"ST_AsGeoJSON({output_geometry_sql('t.geom', crs)}, {crs.decimals}{options})"
    props = properties_sql(selected_fields(collection, properties))
    return (
        '\'{"type":"Feature","id":\' || t.id || \',"geometry":\' || '
        f"COALESCE({geometry}, 'null') || ',\"properties\":' || {props}::text || '}}'"
    )


@dataclass
class Page:
    features_json: bytes  # the comma-joined features, without brackets, UTF-8 as PostgreSQL sent them
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


def _exact_count(engine: Engine, collection: Collection, where: str, params: dict[str, Any]) -> int:
    with engine.connect() as conn:
        sql = f"SELECT count(*) FROM {collection.source_sql} WHERE {where}"
        return int(conn.exec_driver_sql(sql, params).scalar_one())


def page_sql(collection: Collection, query: ItemsQuery, *, with_count: bool = False) -> tuple[str, str, dict[str, Any]]:
    """(page SQL, WHERE, parameters).

    The SQL returns one row: the exact count when ``with_count`` (else NULL), the number of rows
    fetched (``limit + 1`` at most, so ``next`` is known) and the comma-joined features.  The page
    is cut on ids and sort keys, then joined back by primary key to build only its own features
    (deep offsets stay cheap); with a count, the filter is evaluated once: the matching ids and
    sort keys are materialised, counted, and the page is cut from them.
    """
    params = SqlParams()
    where = where_sql(collection, query, params)
    feature = feature_text_sql(collection, query.crs, query.properties)
    limit, offset = int(query.limit), int(query.offset)
    terms = order_terms(collection, query)
    keys = ", ".join(f"{expr} AS k{i}" for i, (expr, _) in enumerate(terms))
    key_order = ", ".join(f"k{i} {direction}" for i, (_, direction) in enumerate(terms))
    # the page is cut by id and sort keys first, so rows skipped by OFFSET never build a feature
    if with_count:
        pick = (
            f"m AS MATERIALIZED (SELECT t.id AS id, {keys} FROM {collection.source_sql} WHERE {where}), "
            f"p AS (SELECT id, row_number() OVER (ORDER BY {key_order}) - {offset} AS n FROM m "
            f"ORDER BY {key_order} LIMIT {limit + 1} OFFSET {offset})"
        )
        count = "(SELECT count(*) FROM m)"
    else:
        pick = (
            f"p AS (SELECT id, row_number() OVER (ORDER BY {key_order}) AS n FROM ("
            f"SELECT t.id AS id, {keys} FROM {collection.source_sql} WHERE {where} "
            f"ORDER BY {order_sql(collection, query)} LIMIT {limit + 1} OFFSET {offset}) q)"
        )
        count = "NULL::bigint"
    sql = (
        f"WITH {pick} SELECT {count}, count(*), "
        # bytea: the features reach the response as the bytes PostgreSQL built, never decoded and re-encoded
        f"convert_to(COALESCE(string_agg(f, ',' ORDER BY n) FILTER (WHERE n <= {limit}), ''), 'UTF8') FROM ("
        f"SELECT p.n, {feature} AS f FROM p JOIN {collection.source_sql} ON t.id = p.id) r"
    )
    return sql, where, params.values


def read_page(engine: Engine, collection: Collection, query: ItemsQuery) -> Page:
    """One page and its numberMatched, in one statement after a planner estimate.

    The estimate (EXPLAIN, well under a millisecond) decides: at or above ``ogc_exact_count_below``
    it is the answer (said so); above the page size an exact count rides in the page statement;
    otherwise the page itself proves the total (a count follows only if the estimate was wrong).
    """
    limit, offset = int(query.limit), int(query.offset)
    _, where, params = page_sql(collection, query)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # reads: no BEGIN / ROLLBACK round trips
        estimate = _estimate(conn, collection, where, params)
        cheap = estimate < get_settings().ogc_exact_count_below
        sql, _, params = page_sql(collection, query, with_count=cheap and estimate > limit)
        # binary results: the features' bytea arrives as it is, not hex-escaped (twice the size) and decoded
        driver = conn.connection.driver_connection
        with driver_errors(sql, params, driver, conn.invalidate), driver.cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            counted, fetched, features_json = cursor.fetchone()
    fetched = int(fetched)
    returned = min(fetched, limit)
    has_more = fetched > limit
    if counted is not None:
        matched, is_estimate = int(counted), False
    elif not has_more and (returned > 0 or offset == 0):
        matched, is_estimate = offset + returned, False  # this page proves the total
    elif cheap:
        matched, is_estimate = _exact_count(engine, collection, where, params), False
    else:
        matched, is_estimate = max(estimate, offset + returned + int(has_more)), True
    return Page(bytes(features_json), returned, has_more, matched, is_estimate)


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


ESTIMATED_EXTENT_ABOVE = 100_000  # rows; below it the exact ST_Extent is cheap


def extent(engine: Engine, collection: Collection) -> dict[str, Any]:
    """Spatial extent (exact, or ST_EstimatedExtent on big tables) and temporal extent, from the base table."""
    result: dict[str, Any] = {}
    table = f'"{collection.table}" t'
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": collection.table}
        ).scalar()
        bbox_row = None
        if rows is not None and rows > ESTIMATED_EXTENT_ABOVE:
            bbox_row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_EstimatedExtent(current_schema(), %(t)s, 'geom')::geometry AS e) x",
                {"t": collection.table},
            ).first()
        derived_geom = collection.extra.get("extent_geom_sql")  # a per-geometry-kind view of projects
        if derived_geom is not None:
            bbox_row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f'(SELECT ST_Extent({derived_geom})::geometry AS e FROM "{collection.table}" p) x'
            ).first()
        elif bbox_row is None or bbox_row[0] is None:
            bbox_row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent(t.geom)::geometry AS e FROM {table}) x"
            ).first()
        if bbox_row is not None and bbox_row[0] is not None:
            result["spatial"] = {
                "bbox": [[round(float(v), 7) for v in bbox_row]],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
        if collection.temporal is not None:
            start_col, end_col = collection.temporal
            start_sql, end_sql = f't."{start_col}"', f't."{end_col or start_col}"'
            times = conn.exec_driver_sql(
                f"SELECT min({start_sql}), CASE WHEN bool_or({end_sql} IS NULL) AND %(open)s THEN NULL "
                f"ELSE max({end_sql}) END FROM {table}",
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
