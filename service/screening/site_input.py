"""What an inspector sends, turned into one valid EPSG:4326 geometry, or a 4xx naming the fault.

Inspectors paste coordinates from AMap (GCJ-02), Baidu (BD-09), CGCS2000 Gauss-Kruger sheets
(EPSG:4547) or GPS (WGS84), and upload KML / Shapefile / GeoPackage files.  Silent fixes would
make a screening lie, so every repair is reported and every guess that cannot be made safely
(unclosed rings, swapped axes, degrees given as metres) is refused with the place of the fault.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from service.common.chinese_crs import to_wgs84_geometry
from service.common.crs_area import check_area_of_use
from service.common.geometry_guard import (
    GEOGRAPHIC,
    check_geojson,
    check_json_depth,
    check_ranges,
    check_shapely,
    check_wkt_text,
)
from service.common.upload_safety import UploadLimits, check_vertices, prepared, scrub_paths
from service.errors import Problem
from service.settings import get_settings

SUPPORTED_CRS = ("EPSG:4326", "EPSG:4490", "EPSG:4547", "gcj02", "bd09")
_CRS_ALIASES = {
    "epsg:4326": "EPSG:4326",
    "4326": "EPSG:4326",
    "wgs84": "EPSG:4326",
    "crs84": "EPSG:4326",
    "ogc:crs84": "EPSG:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": "EPSG:4326",
    "http://www.opengis.net/def/crs/epsg/0/4326": "EPSG:4326",
    "urn:ogc:def:crs:epsg::4326": "EPSG:4326",
    "epsg:4490": "EPSG:4490",
    "4490": "EPSG:4490",
    "cgcs2000": "EPSG:4490",
    "http://www.opengis.net/def/crs/epsg/0/4490": "EPSG:4490",
    "urn:ogc:def:crs:epsg::4490": "EPSG:4490",
    "epsg:4547": "EPSG:4547",
    "4547": "EPSG:4547",
    "http://www.opengis.net/def/crs/epsg/0/4547": "EPSG:4547",
    "urn:ogc:def:crs:epsg::4547": "EPSG:4547",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
}
UPLOAD_SUFFIXES = (".kml", ".kmz", ".zip", ".gpkg", ".geojson", ".json", ".shp")
_POSITION_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


@dataclass
class ScreeningInput:
    """One geometry in EPSG:4326, valid, with what was done to it on the way."""

    geometry: BaseGeometry
    crs: str  # as understood (canonical name, or the file's CRS)
    source: str  # geojson / wkt / upload:<file name> / project:<id>
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def canonical_crs(value: str | None) -> str:
    """One of SUPPORTED_CRS, or 400 naming the parameter and the accepted values."""
    if value is None or not str(value).strip():
        return "EPSG:4326"
    found = _CRS_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise Problem(
            400,
            f"crs {value!r} is not supported; use one of {', '.join(SUPPORTED_CRS)}",
            parameter="crs",
            supported=list(SUPPORTED_CRS),
        )
    return found


# ---------------------------------------------------------------- GeoJSON, checked before shapely sees it


def _fault(detail: str, pointer: str, status: int = 422) -> Problem:
    return Problem(status, detail, pointer=pointer)


def _check_position(pos: Any, pointer: str) -> None:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        raise _fault(f"{pointer}: a position must be [x, y] (got {pos!r})", pointer, 400)
    for i, v in enumerate(pos[:3]):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _fault(f"{pointer}/{i}: coordinate {v!r} is not a number", pointer, 400)
        if not math.isfinite(v):
            raise _fault(f"{pointer}/{i}: coordinate is {v} (NaN or infinite)", pointer)


def _check_coordinates(kind: str, coords: Any, pointer: str) -> None:
    """Structure, finiteness and closed rings, each fault named by its JSON pointer."""
    if kind == "Point":
        _check_position(coords, pointer)
        return
    if not isinstance(coords, list | tuple):
        raise _fault(f"{pointer}: {kind} coordinates must be an array", pointer, 400)
    if kind == "MultiPoint":
        for i, p in enumerate(coords):
            _check_position(p, f"{pointer}/{i}")
    elif kind == "LineString":
        if len(coords) == 1:
            raise _fault(f"{pointer}: a LineString needs at least 2 positions", pointer)
        for i, p in enumerate(coords):
            _check_position(p, f"{pointer}/{i}")
    elif kind == "MultiLineString":
        for i, line in enumerate(coords):
            _check_coordinates("LineString", line, f"{pointer}/{i}")
    elif kind == "Polygon":
        for r, ring in enumerate(coords):
            where = f"{pointer}/{r}"
            if not isinstance(ring, list | tuple):
                raise _fault(f"{where}: a ring must be an array of positions", where, 400)
            for i, p in enumerate(ring):
                _check_position(p, f"{where}/{i}")
            if len(ring) and list(ring[0][:2]) != list(ring[-1][:2]):
                raise _fault(
                    f"{where}: ring {r} is not closed: first position {list(ring[0][:2])} "
                    f"differs from last {list(ring[-1][:2])}",
                    where,
                )
            if 0 < len(ring) < 4:
                raise _fault(f"{where}: ring {r} has {len(ring)} positions; a closed ring needs at least 4", where)
    elif kind == "MultiPolygon":
        for i, poly in enumerate(coords):
            _check_coordinates("Polygon", poly, f"{pointer}/{i}")


def _geometry_object(obj: Any, pointer: str) -> BaseGeometry:
    if not isinstance(obj, dict) or "type" not in obj:
        raise _fault(f"{pointer or '/'}: expected a GeoJSON object with a 'type'", pointer or "/", 400)
    kind = obj["type"]
    if kind == "Feature":
        if obj.get("geometry") is None:
            raise _fault(f"{pointer}/geometry: the feature has no geometry (empty geometry)", f"{pointer}/geometry")
        return _geometry_object(obj["geometry"], f"{pointer}/geometry")
    if kind == "FeatureCollection":
        features = obj.get("features") or []
        if not features:
            raise _fault(f"{pointer}/features: the collection is empty (empty geometry)", f"{pointer}/features")
        return _combine([_geometry_object(f, f"{pointer}/features/{i}") for i, f in enumerate(features)], pointer)
    if kind == "GeometryCollection":
        parts = obj.get("geometries") or []
        return _combine([_geometry_object(g, f"{pointer}/geometries/{i}") for i, g in enumerate(parts)], pointer)
    if kind not in _POSITION_DEPTH:
        raise _fault(f"{pointer}/type: {kind!r} is not a GeoJSON geometry type", f"{pointer}/type", 400)
    if "coordinates" not in obj:
        raise _fault(f"{pointer}/coordinates: missing", f"{pointer}/coordinates", 400)
    _check_coordinates(kind, obj["coordinates"], f"{pointer}/coordinates")
    try:
        return shapely.geometry.shape(obj)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise _fault(f"{pointer}: not a usable {kind}: {exc}", pointer or "/") from exc


def _combine(geoms: list[BaseGeometry], pointer: str) -> BaseGeometry:
    """Several features screened as one site: same dimension only, so shares stay meaningful."""
    geoms = [g for g in geoms if not g.is_empty]
    if not geoms:
        return shapely.geometry.GeometryCollection()
    dims = {shapely.get_dimensions(g) for g in geoms}
    if len(dims) > 1:
        raise _fault(
            f"{pointer or '/'}: the input mixes points, lines and polygons; screen each kind separately",
            pointer or "/",
        )
    if len(geoms) == 1:
        return geoms[0]
    return shapely.union_all([shapely.make_valid(g) for g in geoms])


def geometry_from_geojson(obj: Any) -> BaseGeometry:
    """Bounded first by the shared guard (iteratively, before shapely), then read and checked in detail."""
    check_geojson(obj, "/geometry", features=True)
    return _geometry_object(obj, "/geometry")


def geometry_from_wkt(text: str) -> BaseGeometry:
    check_wkt_text(text, "wkt")  # nesting and vertex count before GEOS's recursive reader sees it
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException as exc:
        message = str(exc)
        if "closed" in message.lower():
            raise Problem(422, f"wkt: a ring is not closed ({message})", parameter="wkt") from exc
        raise Problem(400, f"wkt: not well-formed WKT ({message})", parameter="wkt") from exc
    if geom is None:
        raise Problem(400, "wkt: empty text", parameter="wkt")
    coords = shapely.get_coordinates(geom)
    if coords.size and not bool(np.isfinite(coords).all()):
        raise Problem(422, "wkt: a coordinate is NaN or infinite", parameter="wkt")
    return geom


# ---------------------------------------------------------------- uploads (KML / KMZ / zipped Shapefile / GeoPackage)


def _check_suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise Problem(
            415,
            f"file {filename!r}: unsupported type {suffix or '(none)'}; send {', '.join(UPLOAD_SUFFIXES)}",
            parameter="file",
        )
    return suffix


def _write_limited(data: bytes | BinaryIO, path: Path, filename: str) -> int:
    """The upload on disk (GDAL reads paths), copied in chunks: never a second copy in memory."""
    limit = get_settings().max_upload_mb * 1024 * 1024
    if isinstance(data, bytes | bytearray):
        if len(data) > limit:
            raise Problem(413, f"file {filename!r} is larger than {get_settings().max_upload_mb} MB", parameter="file")
        path.write_bytes(data)
        return len(data)
    written = 0
    with path.open("wb") as out:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            written += len(chunk)
            if written > limit:
                raise Problem(
                    413, f"file {filename!r} is larger than {get_settings().max_upload_mb} MB", parameter="file"
                )
            out.write(chunk)
    return written


def geometry_from_upload(filename: str, data: bytes | BinaryIO) -> tuple[BaseGeometry, str | None]:
    """The union of the file's features and the CRS the file declares (None when it declares none).

    The file goes through the same guards as layer uploads (service.common.upload_safety: zip bombs,
    unsafe archive members, missing Shapefile sidecars, XML entities, the format the name claims and
    the GDAL driver that opens it, vertex counts while reading) before GDAL sees it, with the
    screening vertex limit applied while reading.  Only the geometries are read: a screening needs
    no attributes, whatever their encoding.  ``data``: the bytes, or a file object streamed to disk.
    """
    import pyogrio

    suffix = _check_suffix(filename)
    limits = dataclasses.replace(UploadLimits.from_settings(), max_vertices=get_settings().max_vertices)
    with tempfile.TemporaryDirectory(prefix="xm-screen-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        if not _write_limited(data, path, filename):
            raise Problem(422, f"file {filename!r} is empty (empty geometry)", parameter="file")
        with prepared(path, filename, limits, preferred=(".shp", ".gpkg", ".kml", ".geojson")) as dataset:
            check_vertices(str(dataset), None, filename, limits)
            try:
                frame = pyogrio.read_dataframe(dataset, columns=[])
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                reason = scrub_paths(str(exc).replace(str(dataset), Path(filename).name))
                raise Problem(400, f"file {filename!r}: GDAL cannot read it ({reason})", parameter="file") from None
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise Problem(422, f"file {filename!r} holds no geometry (empty geometry)", parameter="file")
    declared = frame.crs.to_string() if frame.crs is not None else None
    for i, g in enumerate(geoms):
        coords = shapely.get_coordinates(g)
        if not np.isfinite(coords).all():
            raise Problem(422, f"file {filename!r}, feature {i}: a coordinate is NaN or infinite", parameter="file")
    return _combine(geoms, f"file {filename}"), declared


# ---------------------------------------------------------------- coordinates: ranges, swapped axes, conversion


def check_axes_and_ranges(geom: BaseGeometry, crs: str, where: str) -> None:
    """Refuse coordinates that cannot be what the CRS says; the shared guard's check (geometry_guard)."""
    if not geom.is_empty:
        minx, miny, maxx, maxy = geom.bounds
        check_ranges((minx, miny, maxx, maxy), crs, where)


def to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """EPSG:4326 coordinates; CGCS2000 (EPSG:4490) is taken as identical (within centimetres)."""
    if crs in ("EPSG:4326", "EPSG:4490"):
        return geom
    if crs in ("gcj02", "bd09"):
        return to_wgs84_geometry(geom, crs)
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


# ---------------------------------------------------------------- validity and repair


def _keep_dimension(fixed: BaseGeometry, dim: int) -> tuple[BaseGeometry, bool]:
    """Only the parts of the original dimension (make_valid may leave collapsed lines or points)."""
    parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dim]
    dropped = len(parts) != len(shapely.get_parts(fixed))
    if not parts:
        return shapely.geometry.GeometryCollection(), dropped
    return (parts[0] if len(parts) == 1 else shapely.union_all(parts)), dropped


def repair(geom: BaseGeometry) -> tuple[BaseGeometry, list[str]]:
    """A valid geometry and the list of repairs made (self-intersections, collapsed parts)."""
    if geom.is_valid:
        return geom, []
    reason = explain_validity(geom)
    dim = shapely.get_dimensions(geom)
    fixed = shapely.make_valid(geom)
    fixed, dropped = _keep_dimension(fixed, dim)
    repairs = [f"invalid input repaired with make_valid: {reason}"]
    n_before, n_after = len(shapely.get_parts(geom)), len(shapely.get_parts(fixed))
    if n_after != n_before:
        repairs.append(f"the repaired geometry has {n_after} part(s) where the input had {n_before}")
    if dropped:
        repairs.append("degenerate parts that collapsed to lower dimension were dropped")
    return fixed, repairs


def understand(geom: BaseGeometry, crs: str, source: str, where: str = "geometry") -> ScreeningInput:
    """Check, convert to EPSG:4326, and repair; every fault a 4xx naming ``where``."""
    if geom is None or geom.is_empty:
        raise Problem(422, f"{where}: the geometry is empty", parameter=where, fault="empty")
    # the shared guard (decision 0093): vertices, parts, rings, nesting, finite numbers, ranges, service area
    measured = check_shapely(geom, where)
    check_ranges(measured.box(), crs, where)
    warnings: list[str] = []
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        warnings.append("heights (z) were dropped")
    wgs84 = to_wgs84(geom, crs)
    if crs not in GEOGRAPHIC:
        check_axes_and_ranges(wgs84, "EPSG:4326", where)
    fixed, repairs = repair(wgs84)
    if fixed.is_empty:
        raise Problem(422, f"{where}: nothing is left after repair ({'; '.join(repairs)})", parameter=where)
    return ScreeningInput(fixed, crs, source, repairs, warnings)


def input_from_request(
    *,
    geometry: Any = None,
    wkt: str | None = None,
    crs: str | None = None,
    upload: tuple[str, bytes | BinaryIO] | None = None,
) -> ScreeningInput:
    """Exactly one of GeoJSON ``geometry``, ``wkt`` or an uploaded file."""
    given = [name for name, v in (("geometry", geometry), ("wkt", wkt), ("file", upload)) if v]
    if len(given) != 1:
        raise Problem(
            400,
            "send exactly one of 'geometry' (GeoJSON), 'wkt' or an uploaded 'file'"
            + (f"; got {', '.join(given)}" if given else ""),
            parameter="geometry",
        )
    canonical = canonical_crs(crs)
    if geometry is not None:
        if isinstance(geometry, str):
            import json

            check_json_depth(geometry, "geometry")
            try:
                geometry = json.loads(geometry)
            except ValueError as exc:
                raise Problem(400, f"geometry: not valid JSON ({exc})", parameter="geometry") from exc
        return understand(geometry_from_geojson(geometry), canonical, "geojson")
    if wkt is not None:
        return understand(geometry_from_wkt(wkt), canonical, "wkt", "wkt")
    assert upload is not None
    filename, data = upload
    geom, declared = geometry_from_upload(filename, data)
    return understand_upload(geom, declared, crs, filename)


def understand_upload(geom: BaseGeometry, declared: str | None, crs: str | None, filename: str) -> ScreeningInput:
    """A file's own CRS wins, except GCJ-02 / BD-09 which no file format can declare."""
    asked = canonical_crs(crs) if crs else None
    where = f"file {filename}"
    if declared is None:
        return understand(geom, asked or "EPSG:4326", f"upload:{filename}", where)
    declared_crs = CRS.from_user_input(declared)
    epsg = declared_crs.to_epsg()
    if asked in ("gcj02", "bd09") and declared_crs.is_geographic:
        return understand(geom, asked, f"upload:{filename}", where)
    if epsg in (4326, 4490, 4547):
        name = f"EPSG:{epsg}"
        if asked and asked != name:
            raise Problem(422, f"{where}: the file declares {name} but crs={asked} was sent", parameter="crs")
        if not geom.is_empty:
            check_axes_and_ranges(geom, name, where)  # the precise faults first (swapped, degrees as metres)
            check_area_of_use(geom.bounds, declared_crs, name, where)  # then: where this CRS is used at all
        return understand(geom, name, f"upload:{filename}", where)
    if asked:
        raise Problem(422, f"{where}: the file declares {declared} but crs={asked} was sent", parameter="crs")
    check_area_of_use(geom.bounds, declared_crs, declared, where)  # a .prj that lies converts without error
    # any other CRS the file declares authoritatively: convert with PROJ, then check as WGS84
    transformer = Transformer.from_crs(declared_crs, 4326, always_xy=True)
    wgs84 = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    result = understand(wgs84, "EPSG:4326", f"upload:{filename}", where)
    result.crs = declared
    return result
