"""Parse the items query string (Part 1, 2, 3) into a validated ItemsQuery and its SQL WHERE.

Every problem becomes a 400 naming the parameter; every value reaches SQL as a bound parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from service.errors import Problem
from service.ogc.cql import filter_sql, parse_filter
from service.ogc.crs import CRS84_INFO, CrsInfo, input_geometry_sql, parse_crs
from service.ogc.crs_extent import check_box, check_filter_geometries, native_area
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams
from service.settings import get_settings

RESERVED = {
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
    "_",  # jQuery's cache-busting parameter (``cache: false``): accepted and ignored
}


@dataclass
class ItemsQuery:
    """Everything an items / download request asks for, validated."""

    limit: int = 100
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: CrsInfo = CRS84_INFO
    crs: CrsInfo = CRS84_INFO
    datetime_text: str | None = None
    properties: list[str] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (name, descending)
    equals: dict[str, str] = field(default_factory=dict)
    filter_text: str | None = None
    filter_lang: str | None = None
    filter_crs: CrsInfo = CRS84_INFO
    filter_node: Any = None  # the parsed filter: parsed once, with its size checked, before any query runs


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    found = query.get(name, [])
    if len(found) > 1:
        raise Problem(400, f"{name}: given {len(found)} times; give it once", parameter=name)
    return found[0] if found else None


def _int(
    query: Mapping[str, list[str]], name: str, default: int, low: int, high: int | None, *, clamp: bool = False
) -> int:
    """An integer parameter; above ``high`` it is refused, or with ``clamp`` served as ``high``."""
    raw = _single(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, f"{name}: {raw!r} is not an integer", parameter=name) from None
    if clamp and high is not None and value > high:
        return high
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Problem(400, f"{name}: {value} is out of range; must be {bounds}", parameter=name)
    return value


def _bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        numbers = [float(v) for v in raw.split(",")]
    except ValueError:
        raise Problem(400, f"bbox: {raw!r} must be comma-separated numbers", parameter="bbox") from None
    if len(numbers) == 6:  # 3D bbox: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise Problem(400, f"bbox: {raw!r} must be 4 (or 6) finite numbers", parameter="bbox")
    x1, y1, x2, y2 = numbers
    if x1 > x2 or y1 > y2:
        raise Problem(
            400,
            f"bbox: {raw!r} has a lower corner above its upper corner (antimeridian not supported)",
            parameter="bbox",
        )
    return x1, y1, x2, y2


def parse_items_query(items: Iterable[tuple[str, str]], collection: Collection, *, paged: bool = True) -> ItemsQuery:
    """Validate the query string, as (name, value) pairs in order (Starlette's ``multi_items()``), against
    the collection's queryables."""
    query: dict[str, list[str]] = {}  # name -> its values, names in their first order
    for name, value in items:
        query.setdefault(name, []).append(value)
    settings = get_settings()
    result = ItemsQuery()
    if paged:
        # OGC API - Features Part 1, 7.15.3: a limit above the maximum is served as the maximum, not refused
        result.limit = _int(query, "limit", settings.page_limit_default, 1, settings.page_limit_max, clamp=True)
    else:  # downloads and tiles: everything unless a limit is asked for (0 = no limit)
        result.limit = _int(query, "limit", 0, 0, None)
    result.offset = _int(query, "offset", 0, 0, None)
    result.crs = parse_crs(_single(query, "crs"), "crs")
    result.bbox_crs = parse_crs(_single(query, "bbox-crs"), "bbox-crs")
    raw_bbox = _single(query, "bbox")
    if raw_bbox:
        result.bbox = _bbox(raw_bbox)
        check_box(result.bbox, result.bbox_crs, "bbox")  # wholly outside bbox-crs's area: a 400, not 0 features
    result.datetime_text = _single(query, "datetime") or None
    raw_properties = _single(query, "properties")
    if raw_properties is not None:
        names = [p.strip() for p in raw_properties.split(",") if p.strip()]
        for name in names:
            collection.field(name, "properties")
        result.properties = names
    raw_sortby = _single(query, "sortby")
    if raw_sortby:
        for part in (p.strip() for p in raw_sortby.split(",")):
            if not part:
                continue
            descending = part.startswith("-")
            name = part.lstrip("+-").strip()
            if name != "id":
                collection.field(name, "sortby")
            result.sortby.append((name, descending))
    result.filter_text = _single(query, "filter") or None
    result.filter_lang = _single(query, "filter-lang")
    result.filter_crs = parse_crs(_single(query, "filter-crs"), "filter-crs")
    if result.filter_text:
        result.filter_node = parse_filter(result.filter_text, result.filter_lang)
        check_filter_geometries(result.filter_node, result.filter_crs)
    for name in query:
        if name in RESERVED:
            continue
        if name == "id" or name in collection.field_map:
            result.equals[name] = _single(query, name) or ""
            continue
        raise Problem(
            400,
            f"{name}: unknown query parameter for /collections/{collection.id}/items; "
            f"use {', '.join(sorted(RESERVED))} or a queryable (see /collections/{collection.id}/queryables)",
            parameter=name,
        )
    return result


def parse_item_query(items: Iterable[tuple[str, str]]) -> CrsInfo:
    """The query string of a single feature: only ``f`` and ``crs`` are known; returns the output CRS."""
    query: dict[str, list[str]] = {}
    for name, value in items:
        if name not in ("f", "crs"):
            raise Problem(400, f"{name}: unknown query parameter for a single feature; use crs or f", parameter=name)
        query.setdefault(name, []).append(value)
    crs = query.get("crs")
    return parse_crs(crs[-1] if crs else None, "crs")


def _instant(text: str) -> date | datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(
            400, f"datetime: {text!r} is not an RFC 3339 date or date-time (or '..')", parameter="datetime"
        ) from None


def _datetime_sql(collection: Collection, raw: str, params: SqlParams) -> str:
    if collection.temporal is None:
        raise Problem(400, f"datetime: collection {collection.id!r} has no temporal property", parameter="datetime")
    start_col, end_col = collection.temporal
    start_sql = collection.field_map[start_col].sql
    end_sql = collection.field_map[end_col].sql if end_col else start_sql
    if "/" in raw:
        low_text, _, high_text = raw.partition("/")
        low, high = _instant(low_text), _instant(high_text)
        if low is not None and high is not None and str(low) > str(high):
            raise Problem(400, f"datetime: interval {raw!r} ends before it starts", parameter="datetime")
    else:
        low = high = _instant(raw)
        if low is None:
            raise Problem(400, "datetime: give an instant or an interval start/end", parameter="datetime")
    parts = []
    # a feature [start, end] (end open when null; an instant when there is no end column) overlaps [low, high]
    if low is not None:
        bound = params.add(low, "date" if type(low) is date else "timestamptz")
        parts.append(f"({end_sql} >= {bound} OR {end_sql} IS NULL)" if end_col else f"{start_sql} >= {bound}")
    if high is not None:
        parts.append(f"{start_sql} <= {params.add(high, 'date' if type(high) is date else 'timestamptz')}")
    return " AND ".join(parts) or "TRUE"


def bbox_sql(query: ItemsQuery, params: SqlParams) -> str:
    assert query.bbox is not None
    x1, y1, x2, y2 = query.bbox
    if query.bbox_crs.north_first:  # the client wrote lat,lon (or northing,easting): back to x,y
        x1, y1, x2, y2 = y1, x1, y2, x2
    crs = query.bbox_crs
    if not crs.geographic:
        # the part beyond a projection's area of use holds nothing and may not even transform (x = 1e12 in
        # EPSG:3857): cut it off; check_box has already refused a box wholly outside
        ax1, ay1, ax2, ay2 = native_area(crs)
        x1, y1, x2, y2 = max(x1, ax1), max(y1, ay1), min(x2, ax2), min(y2, ay2)
    envelope = (
        f"ST_MakeEnvelope({params.add(x1, 'float8')}, {params.add(y1, 'float8')}, "
        f"{params.add(x2, 'float8')}, {params.add(y2, 'float8')}, {int(crs.srid)})"
    )
    if crs.srid != 4326:
        # densified so edges stay close after reprojection, in at most about 2,000 steps however large the box
        step = max(0.001 if crs.geographic else 100.0, ((x2 - x1) + (y2 - y1)) / 1000)
        envelope = f"ST_Transform(ST_Segmentize({envelope}, {params.add(step, 'float8')}), 4326)"
    return f"ST_Intersects(t.geom, {envelope})"


def _equals_sql(field: Field | None, name: str, value: str, params: SqlParams) -> str:
    if field is None:  # id
        try:
            return f"t.id = {params.add(int(value), 'integer')}"
        except ValueError:
            raise Problem(400, f"id: {value!r} is not an integer", parameter="id") from None
    if field.is_array:
        return f'{params.add(value, "text")} = ANY(t."{field.name}")'
    if field.cast in ("integer", "bigint", "double precision", "numeric"):
        try:
            float(value)
        except ValueError:
            raise Problem(400, f"{name}: {value!r} is not a number", parameter=name) from None
    if field.cast == "boolean" and value.lower() not in ("true", "false", "t", "f", "1", "0"):
        raise Problem(400, f"{name}: {value!r} is not true or false", parameter=name)
    if field.cast in ("date", "timestamptz", "timestamp"):
        _instant(value) if value else None
    return f"{field.sql} = {params.add(value, field.cast)}"


def where_sql(collection: Collection, query: ItemsQuery, params: SqlParams) -> str:
    """The WHERE condition (over alias ``t``) for everything but paging."""
    parts: list[str] = []
    if query.bbox is not None:
        parts.append(bbox_sql(query, params))
    if query.datetime_text:
        parts.append(_datetime_sql(collection, query.datetime_text, params))
    for name, value in query.equals.items():
        parts.append(_equals_sql(collection.field_map.get(name), name, value, params))
    if query.filter_text:
        node = query.filter_node
        if node is None:
            node = parse_filter(query.filter_text, query.filter_lang)
        parts.append(filter_sql(collection, params, node, query.filter_crs))
    return " AND ".join(parts) if parts else "TRUE"


def order_terms(collection: Collection, query: ItemsQuery) -> list[tuple[str, str]]:
    """(expression over ``t``, direction) for ORDER BY; ``t.id`` always closes it so paging is stable."""
    terms = []
    for name, descending in query.sortby:
        expr = "t.id" if name == "id" else collection.field_map[name].sql
        terms.append((expr, "DESC NULLS LAST" if descending else "ASC NULLS LAST"))
    if not any(name == "id" for name, _ in query.sortby):
        terms.append(("t.id", "ASC"))
    return terms


def order_sql(collection: Collection, query: ItemsQuery) -> str:
    return ", ".join(f"{expr} {direction}" for expr, direction in order_terms(collection, query))


__all__ = ["ItemsQuery", "input_geometry_sql", "order_sql", "order_terms", "parse_items_query", "where_sql"]
