"""One guard for every geometry that enters xiangmap: bounded, finite, in range, in the service area.

Every write path calls it before anything parses the geometry into shapely or PostGIS: a drawn project
location, a progress report's done part (API and spreadsheet import), and screening input (GeoJSON,
WKT, and the geometry read from an uploaded file).  GEOS does not check for interrupts in much of its
work (topology-preserving simplification, interior points, validity repair), so one geometry that is
too large can hold a PostgreSQL backend at 100 % CPU beyond ``statement_timeout`` and
``pg_terminate_backend``; the bounds here are what keeps such a geometry out (decision 0093).

The checks walk JSON and WKT iteratively (no recursion, so no RecursionError and no C stack to blow)
and stop at the first bound crossed.  Plain functions, no HTTP: a fault is a
:class:`service.errors.Problem` naming what is wrong and where (JSON pointer or parameter) with a
``fault`` a client can switch on.

Reads are guarded separately, in SQL, against rows stored before these checks existed: see
:func:`display_sql` and :func:`servable_sql`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from service.errors import Problem
from service.settings import get_settings

GEOGRAPHIC = ("EPSG:4326", "EPSG:4490", "gcj02", "bd09")
POSITION_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
# the deepest parentheses a WKT geometry needs without collections: MULTIPOLYGON (((x y, ...)))
_WKT_BASE_DEPTH = 3
# JSON levels a GeoJSON document needs besides its GeometryCollection levels (2 each: object and array):
# body {} > FeatureCollection {} > features [] > Feature {} > geometry {} > coordinates [[[[ ]]]] + slack
_JSON_BASE_DEPTH = 12


@dataclass(frozen=True)
class GeometryLimits:
    """The bounds, from settings (``XIANGMAP_MAX_VERTICES`` ... ``XIANGMAP_SERVICE_AREA``)."""

    max_vertices: int
    max_parts: int
    max_rings: int
    max_depth: int
    service_area: tuple[float, float, float, float]  # lon/lat: min x, min y, max x, max y

    @classmethod
    def from_settings(cls) -> GeometryLimits:
        s = get_settings()
        x1, y1, x2, y2 = (float(v) for v in s.service_area)
        return cls(s.max_vertices, s.max_geometry_parts, s.max_geometry_rings, s.max_geometry_depth, (x1, y1, x2, y2))

    @property
    def max_json_depth(self) -> int:
        return _JSON_BASE_DEPTH + 2 * self.max_depth


@dataclass
class Measured:
    """What a walk found: counts and the bounding box of every position (x, y as given)."""

    vertices: int = 0
    parts: int = 0
    rings: int = 0
    depth: int = 0
    bounds: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])

    @property
    def empty(self) -> bool:
        return self.vertices == 0

    def box(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.bounds
        return x1, y1, x2, y2


def _where(pointer: str | None, parameter: str | None) -> dict[str, str]:
    return {"pointer": pointer} if pointer is not None else {"parameter": parameter or "geometry"}


def _over(what: str, count: int | str, limit: int, label: str, fault: str, loc: dict[str, str]) -> Problem:
    return Problem(
        413 if fault in ("too_many_vertices", "too_many_parts", "too_many_rings") else 400,
        f"{label}: {count} {what} is over the limit of {limit}; simplify the geometry or split it",
        fault=fault,
        limit=limit,
        **loc,
    )


# ---------------------------------------------------------------- raw text, before any parser sees it


def check_json_depth(raw: bytes | str, label: str = "body", *, limits: GeometryLimits | None = None) -> int:
    """The nesting depth of JSON text (strings skipped), refused beyond what GeoJSON within the limits needs.

    Run before ``json.loads``: Python's parser recurses once per level and raises RecursionError (a 500)
    somewhere below 1000 levels; a 900-level GeometryCollection is 1800.
    """
    limits = limits or GeometryLimits.from_settings()
    allowed = limits.max_json_depth
    data = raw.encode() if isinstance(raw, str) else raw
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > allowed:
                    raise Problem(
                        400,
                        f"{label}: the JSON nests more than {allowed} levels deep; GeoJSON needs at most "
                        f"{allowed} (GeometryCollections nested at most {limits.max_depth} deep)",
                        parameter=label,
                        fault="too_deep",
                        limit=limits.max_depth,
                    )
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


_WKT_TOKEN = re.compile(r"[A-Za-z]+|[(),]")


def check_wkt_text(text: str, parameter: str = "wkt", *, limits: GeometryLimits | None = None) -> None:
    """Collection nesting, parenthesis depth and vertex count of WKT text, before GEOS parses it."""
    limits = limits or GeometryLimits.from_settings()
    loc = {"parameter": parameter}
    stack: list[bool] = []  # one entry per open parenthesis: does it open a GEOMETRYCOLLECTION?
    collections = commas = opens = 0
    keyword = ""
    for match in _WKT_TOKEN.finditer(text):
        token = match.group()
        if token == "(":
            is_collection = keyword == "GEOMETRYCOLLECTION"
            keyword = ""
            stack.append(is_collection)
            opens += 1
            collections += is_collection
            if collections > limits.max_depth:
                raise _over("levels of GEOMETRYCOLLECTION", collections, limits.max_depth, parameter, "too_deep", loc)
            if len(stack) > limits.max_depth + _WKT_BASE_DEPTH:
                raise Problem(
                    400,
                    f"{parameter}: parentheses nest {len(stack)} deep (at character {match.start()}); WKT needs at "
                    f"most {limits.max_depth + _WKT_BASE_DEPTH} with collections nested {limits.max_depth} deep",
                    fault="too_deep",
                    limit=limits.max_depth,
                    **loc,
                )
        elif token == ")":
            if stack:
                collections -= stack.pop()
            keyword = ""
        elif token == ",":
            commas += 1
            # every comma but those between parts separates two vertices: a lower bound on vertices
            if commas - opens > limits.max_vertices:
                raise _over(
                    "vertices or more", f"{commas - opens}", limits.max_vertices, parameter, "too_many_vertices", loc
                )
        else:
            keyword = token.upper()


# ---------------------------------------------------------------- GeoJSON, walked iteratively


def _position(pos: Any, pointer: str, m: Measured) -> None:
    if not isinstance(pos, list | tuple) or not 2 <= len(pos) <= 4:
        raise Problem(400, f"{pointer}: a position must be [x, y] or [x, y, z] (got {_short(pos)})", pointer=pointer)
    for i, v in enumerate(pos[:3]):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise Problem(400, f"{pointer}/{i}: coordinate {_short(v)} is not a number", pointer=pointer)
        if not math.isfinite(v):
            raise Problem(
                422, f"{pointer}/{i}: coordinate is {v} (NaN or infinite)", pointer=pointer, fault="not_finite"
            )
    x, y = float(pos[0]), float(pos[1])
    b = m.bounds
    if x < b[0]:
        b[0] = x
    if y < b[1]:
        b[1] = y
    if x > b[2]:
        b[2] = x
    if y > b[3]:
        b[3] = y


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_geojson(
    obj: Any,
    pointer: str = "/geometry",
    *,
    limits: GeometryLimits | None = None,
    features: bool = False,
    allowed: tuple[str, ...] | None = None,
) -> Measured:
    """Structure and bounds of a GeoJSON geometry (or Feature / FeatureCollection when ``features``).

    Counts vertices, parts, rings and GeometryCollection depth, stopping at the first bound crossed;
    refuses non-numbers and NaN / infinity; returns the counts and the bounding box of the positions.
    Ring closure, emptiness and validity are left to the caller.
    """
    limits = limits or GeometryLimits.from_settings()
    m = Measured()
    # (object, its JSON pointer, GeometryCollection depth around it, may it be a Feature/FeatureCollection)
    todo: list[tuple[Any, str, int, bool]] = [(obj, pointer, 0, features)]
    while todo:
        item, where, depth, top = todo.pop()
        if not isinstance(item, dict) or "type" not in item:
            raise Problem(400, f"{where or '/'}: expected a GeoJSON object with a 'type'", pointer=where or "/")
        kind = item["type"]
        if top and kind == "FeatureCollection" and where == pointer:
            found = item.get("features")
            if found is not None and not isinstance(found, list):
                raise Problem(400, f"{where}/features: must be an array", pointer=f"{where}/features")
            todo.extend((f, f"{where}/features/{i}", depth, True) for i, f in reversed(list(enumerate(found or []))))
            continue
        if top and kind == "Feature":
            if item.get("geometry") is not None:
                todo.append((item["geometry"], f"{where}/geometry", depth, False))
            continue
        if kind == "GeometryCollection" and (allowed is None or kind in allowed):
            depth += 1
            m.depth = max(m.depth, depth)
            if depth > limits.max_depth:
                raise _over(
                    "levels of nested GeometryCollection",
                    depth,
                    limits.max_depth,
                    where,
                    "too_deep",
                    {"pointer": where},
                )
            members = item.get("geometries")
            if members is not None and not isinstance(members, list):
                raise Problem(400, f"{where}/geometries: must be an array", pointer=f"{where}/geometries")
            todo.extend(
                (g, f"{where}/geometries/{i}", depth, False) for i, g in reversed(list(enumerate(members or [])))
            )
            continue
        if not isinstance(kind, str) or kind not in POSITION_DEPTH or (allowed is not None and kind not in allowed):
            names = ", ".join(allowed) if allowed else "a GeoJSON geometry type"
            raise Problem(400, f"{where}/type: {_short(kind)} is not {names}", pointer=f"{where}/type")
        if "coordinates" not in item:
            raise Problem(400, f"{where}/coordinates: missing", pointer=f"{where}/coordinates")
        _coordinates(kind, item["coordinates"], f"{where}/coordinates", m, limits)
    return m


def _coordinates(kind: str, coords: Any, pointer: str, m: Measured, limits: GeometryLimits) -> None:
    """Positions of one simple geometry; its nesting is fixed by its type, so loops, not recursion."""
    levels = POSITION_DEPTH[kind]
    if levels == 0:
        _position(coords, pointer, m)
        m.vertices += 1
        m.parts += 1
        _bounded(m, limits, pointer)
        return
    # arrays of arrays down to ``levels``: (array, pointer, level); level 1 holds positions
    todo: list[tuple[Any, str, int]] = [(coords, pointer, levels)]
    while todo:
        array, where, level = todo.pop()
        if not isinstance(array, list | tuple):
            raise Problem(400, f"{where}: {kind} coordinates must be nested arrays here", pointer=where)
        if level == 1:
            for i, pos in enumerate(array):
                _position(pos, f"{where}/{i}", m)
            m.vertices += len(array)
            if kind == "MultiPoint":
                m.parts += len(array)
            elif kind in ("LineString", "MultiLineString"):
                m.parts += 1
            else:
                m.rings += 1
            _bounded(m, limits, where)
            continue
        if kind.endswith("Polygon") and level == 2:
            m.parts += 1
        todo.extend((a, f"{where}/{i}", level - 1) for i, a in reversed(list(enumerate(array))))


def _bounded(m: Measured, limits: GeometryLimits, where: str) -> None:
    loc = {"pointer": where}
    if m.vertices > limits.max_vertices:
        raise _over("vertices or more", m.vertices, limits.max_vertices, where, "too_many_vertices", loc)
    if m.parts > limits.max_parts:
        raise _over("parts or more", m.parts, limits.max_parts, where, "too_many_parts", loc)
    if m.rings > limits.max_rings:
        raise _over("rings or more", m.rings, limits.max_rings, where, "too_many_rings", loc)


# ---------------------------------------------------------------- a geometry already parsed (WKT, uploaded files)


def check_shapely(
    geom: BaseGeometry, label: str, *, limits: GeometryLimits | None = None, pointer: str | None = None
) -> Measured:
    """The same bounds for a shapely geometry (counted in C; collections walked without recursion)."""
    limits = limits or GeometryLimits.from_settings()
    loc = _where(pointer, label)
    m = Measured(vertices=int(shapely.get_num_coordinates(geom)))
    if m.vertices > limits.max_vertices:
        raise _over("vertices", m.vertices, limits.max_vertices, label, "too_many_vertices", loc)
    todo: list[tuple[BaseGeometry, int]] = [(geom, 0)]
    while todo:
        g, depth = todo.pop()
        if g.geom_type == "GeometryCollection":
            depth += 1
            m.depth = max(m.depth, depth)
            if depth > limits.max_depth:
                raise _over("levels of nested GeometryCollection", depth, limits.max_depth, label, "too_deep", loc)
            todo.extend((p, depth) for p in shapely.get_parts(g))
            continue
        parts = shapely.get_parts(g)
        m.parts += len(parts)
        if g.geom_type.endswith("Polygon"):
            m.rings += int(np.sum(shapely.get_num_interior_rings(parts))) + len(parts)
        if m.parts > limits.max_parts:
            raise _over("parts", m.parts, limits.max_parts, label, "too_many_parts", loc)
        if m.rings > limits.max_rings:
            raise _over("rings", m.rings, limits.max_rings, label, "too_many_rings", loc)
    coords = shapely.get_coordinates(geom)
    if coords.size:
        if not bool(np.isfinite(coords).all()):
            raise Problem(422, f"{label}: a coordinate is NaN or infinite", fault="not_finite", **loc)
        m.bounds = [
            float(coords[:, 0].min()),
            float(coords[:, 1].min()),
            float(coords[:, 0].max()),
            float(coords[:, 1].max()),
        ]
    return m


# ---------------------------------------------------------------- ranges, swapped axes, the service area


def _inside(box: tuple[float, float, float, float], area: tuple[float, float, float, float]) -> bool:
    return area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1] and box[3] <= area[3]


def _disjoint(box: tuple[float, float, float, float], area: tuple[float, float, float, float]) -> bool:
    return box[2] < area[0] or box[0] > area[2] or box[3] < area[1] or box[1] > area[3]


def check_ranges(
    box: tuple[float, float, float, float],
    crs: str,
    label: str,
    *,
    pointer: str | None = None,
    limits: GeometryLimits | None = None,
    service_area: bool = True,
) -> None:
    """Refuse coordinates that cannot be what the CRS says: swapped axes, out of range, degrees as metres.

    ``box`` is (min x, min y, max x, max y) as given.  For geographic CRSs the geometry must also lie in the
    service area (``XIANGMAP_SERVICE_AREA``, China by default) unless ``service_area`` is False.
    """
    limits = limits or GeometryLimits.from_settings()
    loc = _where(pointer, label)
    minx, miny, maxx, maxy = box
    area = limits.service_area
    if crs in GEOGRAPHIC:
        swapped = (miny, minx, maxy, maxx)
        if not _inside(box, area) and _inside(swapped, area):
            raise Problem(
                422,
                f"{label}: latitude and longitude look swapped: read as [longitude, latitude] the coordinates span "
                f"longitude {minx:g} .. {maxx:g}, latitude {miny:g} .. {maxy:g}"
                + (" (a latitude beyond 90 is impossible)" if max(abs(miny), abs(maxy)) > 90 else "")
                + f"; swapped they would be longitude {miny:g} .. {maxy:g}, latitude {minx:g} .. {maxx:g}, inside the "
                "service area; send [longitude, latitude] (GeoJSON order)",
                fault="swapped_axes",
                swapped_reading=[miny, minx, maxy, maxx],
                **loc,
            )
        if minx < -180 or maxx > 180:
            raise Problem(
                422, f"{label}: longitude out of range [-180, 180] ({minx:g} .. {maxx:g})", fault="out_of_range", **loc
            )
        if miny < -90 or maxy > 90:
            raise Problem(
                422, f"{label}: latitude out of range [-90, 90] ({miny:g} .. {maxy:g})", fault="out_of_range", **loc
            )
        if service_area and not _inside(box, area):
            raise Problem(
                422,
                f"{label}: ({minx:g}, {miny:g}) .. ({maxx:g}, {maxy:g}) lies "
                + ("outside" if _disjoint(box, area) else "partly outside")
                + f" the service area (longitude {area[0]:g} .. {area[2]:g}, latitude {area[1]:g} .. {area[3]:g}); "
                "xiangmap serves places in China and no protected zone lies elsewhere",
                fault="outside_service_area",
                **loc,
            )
        return
    # EPSG:4547: Gauss-Kruger metres, easting about 330 000-670 000 in the zone, northing in the millions
    if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
        raise Problem(
            422,
            f"{label}: coordinates ({minx:g}, {miny:g}) look like degrees, but EPSG:4547 is in metres "
            "(easting about 400 000, northing about 3 090 000 at Zhuzhou); send crs=EPSG:4326 for degrees",
            fault="degrees_as_metres",
            **loc,
        )
    if minx > 1_000_000 and maxy < 1_000_000:
        raise Problem(
            422,
            f"{label}: easting and northing look swapped ({minx:g}, {miny:g}); EPSG:4547 wants [easting, northing]; "
            f"swapped it would read ({miny:g}, {minx:g})",
            fault="swapped_axes",
            swapped_reading=[miny, minx, maxy, maxx],
            **loc,
        )
    if minx < 0 or maxx > 1_000_000 or miny < 0 or maxy > 10_000_000:
        raise Problem(
            422,
            f"{label}: ({minx:g}, {miny:g}) .. ({maxx:g}, {maxy:g}) is out of range for EPSG:4547 "
            "(easting 0-1 000 000 m, northing 0-10 000 000 m)",
            fault="out_of_range",
            **loc,
        )


def check_stored_geojson(
    obj: Any, pointer: str, *, allowed: tuple[str, ...] | None = None, limits: GeometryLimits | None = None
) -> Measured:
    """Everything a GeoJSON geometry to be stored (EPSG:4326 lon/lat) must pass before PostGIS reads it."""
    limits = limits or GeometryLimits.from_settings()
    m = check_geojson(obj, pointer, limits=limits, allowed=allowed)
    if m.empty:
        raise Problem(422, f"{pointer}: the geometry is empty", pointer=pointer, fault="empty")
    check_ranges(m.box(), "EPSG:4326", pointer.strip("/") or "geometry", pointer=pointer, limits=limits)
    return m


# ---------------------------------------------------------------- reads: SQL that never hands GEOS an unbounded row


def _area_sql(area: tuple[float, float, float, float]) -> str:
    x1, y1, x2, y2 = (float(v) for v in area)
    return f"ST_MakeEnvelope({x1!r}, {y1!r}, {x2!r}, {y2!r}, 4326)"


def bounded_sql(column: str, max_vertices: int | None = None) -> str:
    """True when the stored geometry is small enough for any GEOS function (ST_NPoints is a cheap count)."""
    limit = int(max_vertices if max_vertices is not None else get_settings().map_simplify_vertices)
    return f"ST_NPoints({column}) <= {limit}"


def display_sql(column: str, expensive: str, *, point: bool = False) -> str:
    """``expensive`` (an SQL expression over ``column``) for bounded rows, the bounding box (or its centre) else."""
    stand_in = f"ST_Centroid(ST_Envelope({column}))" if point else f"ST_Envelope({column})"
    return f"CASE WHEN {bounded_sql(column)} THEN {expensive} ELSE {stand_in} END"


# where each output CRS can represent a stored geometry (lon/lat boxes); transforms outside them fail or lie
VALID_AREAS: dict[int, tuple[float, float, float, float]] = {
    4326: (-180.0, -90.0, 180.0, 90.0),
    4490: (-180.0, -90.0, 180.0, 90.0),
    3857: (-180.0, -85.06, 180.0, 85.06),
}


def valid_area(srid: int) -> tuple[float, float, float, float]:
    """The lon/lat box a stored geometry must lie in to be output in ``srid`` (EPSG:4547: the service area)."""
    if srid in VALID_AREAS:
        return VALID_AREAS[srid]
    return GeometryLimits.from_settings().service_area


def servable_sql(column: str, srid: int) -> str:
    """True when a stored geometry can be served in ``srid``: in range for it and within the vertex bound."""
    limit = int(get_settings().max_vertices)
    return f"({column} @ {_area_sql(valid_area(srid))} AND ST_NPoints({column}) <= {limit})"


def in_service_area_sql(column: str) -> str:
    return f"({column} @ {_area_sql(GeometryLimits.from_settings().service_area)})"
