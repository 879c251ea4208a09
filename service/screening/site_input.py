"""What an inspector sends, turned into one valid EPSG:4326 geometry, or a 4xx naming the fault.

Inspectors paste coordinates from AMap (GCJ-02), Baidu (BD-09), CGCS2000 Gauss-Kruger sheets
(EPSG:4547 at Chang-Zhu-Tan, the other 3-degree zones over Hunan too) or GPS (WGS84), and upload
KML / GPX / GeoJSON / Shapefile / GeoPackage files.  Silent fixes would
make a screening lie, so every repair is reported and every guess that cannot be made safely
(unclosed rings, swapped axes, degrees given as metres) is refused with the place of the fault.

The CRS is never guessed silently (issue 18): an input that does not say its CRS is read as WGS84 with a
warning naming ``crs=gcj02`` (phone apps export GCJ-02 under KML / GPX / GeoJSON, which nominally are
WGS84); metres without a CRS are refused with the likely Gauss-Kruger zone; swapped axes are refused with
the swapped reading.  The words and the zone arithmetic live in ``service.screening.crs_hints``.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Literal

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
from service.common.upload_safety import (
    UploadLimits,
    check_driver,
    check_vertices,
    check_xml,
    prepared,
    scrub_paths,
)
from service.errors import Problem
from service.screening.crs_hints import (
    GAUSS_KRUGER_CRS,
    check_gauss_kruger,
    crs_assumed_warning,
    metres_problem,
    received_coordinates,
    swapped_problem,
    z_dropped_warning,
)
from service.settings import get_settings

# EPSG:4547 first among the Gauss-Kruger zones: the zone of Changsha, Zhuzhou and Xiangtan; the other zones
# over Hunan (CM 108E / 111E, and the three written with the zone number) since issue 18
SUPPORTED_CRS = (
    "EPSG:4326",
    "EPSG:4490",
    "EPSG:4547",
    "gcj02",
    "bd09",
    *(name for name in GAUSS_KRUGER_CRS if name != "EPSG:4547"),
)
_CRS_ALIASES = {
    "epsg:4326": "EPSG:4326",
    "4326": "EPSG:4326",
    "wgs84": "EPSG:4326",
    "crs84": "EPSG:4326",
    "ogc:crs84": "EPSG:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": "EPSG:4326",
    "http://www.opengis.net/def/crs/epsg/0/4326": "EPSG:4326",
    "urn:ogc:def:crs:epsg::4326": "EPSG:4326",
    "urn:ogc:def:crs:ogc:1.3:crs84": "EPSG:4326",  # the names a legacy GeoJSON ``crs`` member uses
    "urn:ogc:def:crs:ogc::crs84": "EPSG:4326",
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


def _gauss_kruger_aliases() -> dict[str, str]:
    """Every spelling EPSG:4547 has, for each Gauss-Kruger zone over Hunan."""
    aliases = {}
    for name in GAUSS_KRUGER_CRS:
        code = name.removeprefix("EPSG:")
        for alias in (
            code,
            f"epsg:{code}",
            f"http://www.opengis.net/def/crs/epsg/0/{code}",
            f"urn:ogc:def:crs:epsg::{code}",
        ):
            aliases[alias] = name
    return aliases


_CRS_ALIASES.update(_gauss_kruger_aliases())
UPLOAD_SUFFIXES = (".kml", ".kmz", ".gpx", ".zip", ".gpkg", ".geojson", ".json", ".shp")
# formats that are WGS84 by definition, so the CRS GDAL reports for them is no one's declaration: phone apps
# write GCJ-02 coordinates into them all the same (the value: the kind of input, for the warning's words)
WGS84_BY_FORMAT = {".kml": "kml", ".kmz": "kml", ".gpx": "gpx", ".geojson": "geojson", ".json": "geojson"}
# GPX layers read, lines first: a walked boundary is a track; waypoints only when the file has no line
GPX_LINES, GPX_POINTS = ("tracks", "routes"), ("waypoints",)
InputKind = Literal["geojson", "wkt", "kml", "gpx", "file"]
_POSITION_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


@dataclass
class ScreeningInput:
    """One geometry in EPSG:4326, valid, with what was done to it on the way.

    ``warnings``: structured entries (``crs_hints.warning``): ``code`` to switch on, ``message`` to print
    ("中文 / English"), ``zh`` and ``en``, and the entry's own details (``parameter``, ``suggest`` ...).
    ``crs_declared``: False when nothing said the CRS and WGS84 was assumed (a report says so).
    ``coordinates_received``: the input as received, before any transformation (``crs_hints.received_coordinates``):
    ``{"crs", "axis_order", "first": [x, y], "bbox": [min x, min y, max x, max y] or None for a point, "vertices"}``.
    Stored sites (projects, records) are known to be EPSG:4326, hence the defaults.
    """

    geometry: BaseGeometry
    crs: str  # as understood (canonical name, or the file's CRS)
    source: str  # geojson / wkt / upload:<file name> / project:<id>
    repairs: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    crs_declared: bool = True
    coordinates_received: dict[str, Any] | None = None


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


def first_position(obj: Any) -> tuple[float, float] | None:
    """The first position of a GeoJSON object in document order, as sent (a union reorders vertices).

    Walked iteratively, after ``geometry_from_geojson`` has bounded the object.
    """
    todo: list[Any] = [obj]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if "coordinates" in item:
                todo.append(item["coordinates"])
            else:
                children = item.get("features") or item.get("geometries") or []
                if item.get("geometry") is not None:
                    children = [item["geometry"]]
                todo.extend(reversed(list(children)) if isinstance(children, list) else [])
        elif isinstance(item, list | tuple) and item:
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in item[:2]) and len(item) >= 2:
                return float(item[0]), float(item[1])
            todo.extend(reversed(item))
    return None


def geojson_crs_member(obj: Any) -> str | None:
    """The CRS a GeoJSON names in its (pre-RFC 7946) ``crs`` member, if any: a declaration, not a guess."""
    member = obj.get("crs") if isinstance(obj, dict) else None
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    return str(name) if isinstance(name, str) and name.strip() else None


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


@dataclass
class UploadedGeometry:
    """What a file holds: its features' union, the CRS it declares, which format was read, its first point."""

    geometry: BaseGeometry
    declared: str | None  # None when the file declares nothing
    dataset_suffix: str  # of the file GDAL read (a .zip's member): decides whether the CRS is the format's
    first: tuple[float, float] | None


def geometry_from_upload(filename: str, data: bytes | BinaryIO) -> tuple[BaseGeometry, str | None]:
    """The union of the file's features and the CRS the file declares (None when it declares none)."""
    read = read_upload(filename, data)
    return read.geometry, read.declared


def _gpx_frames(dataset: Path, filename: str, limits: UploadLimits) -> list[Any]:
    """A GPX's tracks and routes, or its waypoints when it has no line (GDAL alone would open the waypoints)."""
    import pyogrio

    if check_driver(str(dataset), filename) != "GPX":
        raise Problem(415, f"file {filename!r} is not a GPX file", parameter="file", fault="format_mismatch")
    present = {str(name) for name, _ in pyogrio.list_layers(dataset)}
    frames: list[Any] = []
    for layers in (GPX_LINES, GPX_POINTS):
        for layer in (name for name in layers if name in present):
            check_vertices(str(dataset), layer, filename, limits)
            frames.append(pyogrio.read_dataframe(dataset, layer=layer, columns=[]))
        if any(g is not None and not g.is_empty for frame in frames for g in frame.geometry):
            break
    return frames


def _read_frames(path: Path, filename: str, limits: UploadLimits) -> tuple[list[Any], str]:
    """The file's frames (geometries only) after the upload guards, and the suffix of the dataset GDAL read."""
    import pyogrio

    with prepared(path, filename, limits, preferred=(".shp", ".gpkg", ".kml", ".geojson")) as dataset:
        dataset_suffix = dataset.suffix.lower()
        try:
            if dataset_suffix == ".gpx":
                return _gpx_frames(dataset, filename, limits), dataset_suffix
            check_vertices(str(dataset), None, filename, limits)
            return [pyogrio.read_dataframe(dataset, columns=[])], dataset_suffix
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            reason = scrub_paths(str(exc).replace(str(dataset), Path(filename).name))
            raise Problem(400, f"file {filename!r}: GDAL cannot read it ({reason})", parameter="file") from None


def read_upload(filename: str, data: bytes | BinaryIO) -> UploadedGeometry:
    """The union of the file's features, the CRS the file declares (None when it declares none) and more.

    The file goes through the same guards as layer uploads (service.common.upload_safety: zip bombs,
    unsafe archive members, missing Shapefile sidecars, XML entities, the format the name claims and
    the GDAL driver that opens it, vertex counts while reading) before GDAL sees it, with the
    screening vertex limit applied while reading.  Only the geometries are read: a screening needs
    no attributes, whatever their encoding.  ``data``: the bytes, or a file object streamed to disk.
    """

    suffix = _check_suffix(filename)
    limits = dataclasses.replace(UploadLimits.from_settings(), max_vertices=get_settings().max_vertices)
    with tempfile.TemporaryDirectory(prefix="xm-screen-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        if not _write_limited(data, path, filename):
            raise Problem(422, f"file {filename!r} is empty (empty geometry)", parameter="file")
        if suffix == ".gpx":
            check_xml(path, filename, limits)  # plain XML: no DTD, no entities (the guard checks .kml itself)
        with warnings.catch_warnings():
            if suffix == ".gpx":  # GDAL names a GPX's five layers when opened without one: not news
                warnings.filterwarnings("ignore", "More than one layer found", UserWarning)
            frames, dataset_suffix = _read_frames(path, filename, limits)
    geoms = [g for frame in frames for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise Problem(422, f"file {filename!r} holds no geometry (empty geometry)", parameter="file")
    crs = next((frame.crs for frame in frames if frame.crs is not None), None)
    declared = crs.to_string() if crs is not None else None
    for i, g in enumerate(geoms):
        coords = shapely.get_coordinates(g)
        if not np.isfinite(coords).all():
            raise Problem(422, f"file {filename!r}, feature {i}: a coordinate is NaN or infinite", parameter="file")
    xy = shapely.get_coordinates(geoms[0])
    first = (float(xy[0, 0]), float(xy[0, 1])) if len(xy) else None
    return UploadedGeometry(_combine(geoms, f"file {filename}"), declared, dataset_suffix, first)


# ---------------------------------------------------------------- coordinates: ranges, swapped axes, conversion


def check_axes_and_ranges(geom: BaseGeometry, crs: str, where: str) -> None:
    """Refuse coordinates that cannot be what the CRS says; the shared guard's check (geometry_guard)."""
    if not geom.is_empty:
        minx, miny, maxx, maxy = geom.bounds
        check_ranges((minx, miny, maxx, maxy), crs, where)


def _advice_kind(kind: InputKind) -> str:
    return "geojson" if kind == "geojson" else "wkt" if kind == "wkt" else "file"


def check_fit(
    box: tuple[float, float, float, float],
    first: tuple[float, float],
    crs: str,
    where: str,
    *,
    crs_declared: bool,
    kind: InputKind,
) -> None:
    """The coordinates can be what ``crs`` says, or a 4xx that says what they look like and what to send.

    Metres with no CRS named: 400 ``crs_needed`` naming the likely Gauss-Kruger zone(s); metres with a
    geographic CRS named: 422 ``out_of_range``, the same names added.  Then the shared guard's range checks
    (decision 0093), a swapped-axes refusal carrying ``swapped_detail`` (the reading that would fit).
    """
    if not crs_declared or crs in GEOGRAPHIC:
        hint = metres_problem(box, first, where, declared=crs if crs_declared else None, supported=SUPPORTED_CRS)
        if hint is not None:
            raise hint
    try:
        if crs in GEOGRAPHIC:
            check_ranges(box, crs, where)
        else:
            check_gauss_kruger(box, crs, where)
    except Problem as exc:
        if exc.extra.get("fault") == "swapped_axes":
            raise swapped_problem(exc, first, box, crs, _advice_kind(kind)) from None
        raise


@lru_cache(maxsize=16)
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)


def to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """EPSG:4326 coordinates; CGCS2000 (EPSG:4490) is taken as identical (within centimetres)."""
    if crs in ("EPSG:4326", "EPSG:4490"):
        return geom
    if crs in ("gcj02", "bd09"):
        return to_wgs84_geometry(geom, crs)
    transformer = _transformer(crs)
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


def _first_coordinate(geom: BaseGeometry) -> tuple[float, float]:
    xy = shapely.get_coordinates(geom)
    return float(xy[0, 0]), float(xy[0, 1])


def understand(
    geom: BaseGeometry,
    crs: str,
    source: str,
    where: str = "geometry",
    *,
    crs_declared: bool = True,
    kind: InputKind = "geojson",
    first: tuple[float, float] | None = None,
    received: dict[str, Any] | None = None,
) -> ScreeningInput:
    """Check, convert to EPSG:4326, and repair; every fault a 4xx naming ``where``.

    ``crs_declared``: False when nothing named the CRS and ``crs`` is the assumed EPSG:4326: metres are then
    refused with the likely CRS, and the answer carries the ``crs_assumed`` warning.  ``kind``: what the input
    was (geojson, wkt, kml, gpx, file), for the words of warnings and advice.  ``first``: the first position as
    sent, when ``geom`` may have reordered it (a union); ``received``: the coordinates as received when
    ``geom`` is already a transformation of them (a file in a CRS of its own).
    """
    if geom is None or geom.is_empty:
        raise Problem(422, f"{where}: the geometry is empty", parameter=where, fault="empty")
    # the shared guard (decision 0093): vertices, parts, rings, nesting, finite numbers, ranges, service area
    measured = check_shapely(geom, where)
    box = measured.box()
    first = first or _first_coordinate(geom)
    check_fit(box, first, crs, where, crs_declared=crs_declared, kind=kind)
    received = received or received_coordinates(first, box, measured.vertices, crs)
    warned: list[dict[str, Any]] = []
    if not crs_declared:
        warned.append(crs_assumed_warning(kind))
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        warned.append(z_dropped_warning())
    wgs84 = to_wgs84(geom, crs)
    if crs not in GEOGRAPHIC:
        check_axes_and_ranges(wgs84, "EPSG:4326", where)
    fixed, repairs = repair(wgs84)
    if fixed.is_empty:
        raise Problem(422, f"{where}: nothing is left after repair ({'; '.join(repairs)})", parameter=where)
    return ScreeningInput(fixed, crs, source, repairs, warned, crs_declared, received)


def _declared_by_geojson(geometry: Any, asked: str | None) -> str | None:
    """The CRS a legacy GeoJSON ``crs`` member names (canonical), checked against the ``crs`` parameter."""
    member = geojson_crs_member(geometry)
    if member is None:
        return None
    try:
        named = canonical_crs(member)
    except Problem:
        raise Problem(
            400,
            f"/geometry/crs: the GeoJSON names the CRS {member!r}, which is not supported; "
            f"use one of {', '.join(SUPPORTED_CRS)} (or leave the member out and send crs)",
            pointer="/geometry/crs",
            supported=list(SUPPORTED_CRS),
        ) from None
    if asked is not None and asked != named:
        raise Problem(
            422, f"/geometry/crs: the GeoJSON names {named} but crs={asked} was sent", pointer="/geometry/crs"
        )
    return named


def input_from_request(
    *,
    geometry: Any = None,
    wkt: str | None = None,
    crs: str | None = None,
    upload: tuple[str, bytes | BinaryIO] | None = None,
) -> ScreeningInput:
    """Exactly one of GeoJSON ``geometry``, ``wkt`` or an uploaded file.

    The CRS is declared by the ``crs`` parameter (``crs=EPSG:4326`` confirms WGS84), a legacy GeoJSON ``crs``
    member, or a file's own CRS (.prj, GeoPackage); otherwise EPSG:4326 is assumed and the answer says so.
    """
    given = [name for name, v in (("geometry", geometry), ("wkt", wkt), ("file", upload)) if v]
    if len(given) != 1:
        raise Problem(
            400,
            "send exactly one of 'geometry' (GeoJSON), 'wkt' or an uploaded 'file'"
            + (f"; got {', '.join(given)}" if given else ""),
            parameter="geometry",
        )
    asked = canonical_crs(crs) if crs is not None and str(crs).strip() else None
    if geometry is not None:
        if isinstance(geometry, str):
            import json

            check_json_depth(geometry, "geometry")
            try:
                geometry = json.loads(geometry)
            except ValueError as exc:
                raise Problem(400, f"geometry: not valid JSON ({exc})", parameter="geometry") from exc
        geom = geometry_from_geojson(geometry)
        named = _declared_by_geojson(geometry, asked) or asked
        first = first_position(geometry)
        return understand(
            geom, named or "EPSG:4326", "geojson", crs_declared=named is not None, kind="geojson", first=first
        )
    if wkt is not None:
        return understand(
            geometry_from_wkt(wkt), asked or "EPSG:4326", "wkt", "wkt", crs_declared=asked is not None, kind="wkt"
        )
    assert upload is not None
    filename, data = upload
    read = read_upload(filename, data)
    return understand_upload(
        read.geometry, read.declared, crs, filename, dataset_suffix=read.dataset_suffix, first=read.first
    )


def _wgs84_by_format(suffix: str, declared: CRS) -> bool:
    """The file's CRS is only what its format defines (KML, GPX, GeoJSON without a ``crs`` member)."""
    return suffix in WGS84_BY_FORMAT and (declared.to_epsg() == 4326 or declared.to_string() == "OGC:CRS84")


def understand_upload(
    geom: BaseGeometry,
    declared: str | None,
    crs: str | None,
    filename: str,
    *,
    dataset_suffix: str | None = None,
    first: tuple[float, float] | None = None,
) -> ScreeningInput:
    """A file's own CRS wins, except GCJ-02 / BD-09 which no file format can declare.

    A KML, GPX or GeoJSON "declares" WGS84 because its format defines it, whatever the app that wrote it
    used: that is no declaration, so the ``crs`` parameter decides, and without it WGS84 is assumed with a
    warning (``crs_declared`` False).  ``dataset_suffix``: of the file GDAL read (a .zip's member).
    """
    asked = canonical_crs(crs) if crs else None
    where = f"file {filename}"
    source = f"upload:{filename}"
    suffix = (dataset_suffix or Path(filename).suffix).lower()
    declared_crs = CRS.from_user_input(declared) if declared is not None else None
    if declared_crs is None or _wgs84_by_format(suffix, declared_crs):
        kind: InputKind = WGS84_BY_FORMAT.get(suffix, "file")  # type: ignore[assignment]
        return understand(
            geom, asked or "EPSG:4326", source, where, crs_declared=asked is not None, kind=kind, first=first
        )
    if asked in ("gcj02", "bd09") and declared_crs.is_geographic:
        return understand(geom, asked, source, where, kind="file", first=first)
    epsg = declared_crs.to_epsg()
    if epsg in (4326, 4490, 4547):
        name = f"EPSG:{epsg}"
        if asked and asked != name:
            raise Problem(422, f"{where}: the file declares {name} but crs={asked} was sent", parameter="crs")
        if not geom.is_empty:
            # the precise faults first (swapped, degrees as metres), then: where this CRS is used at all
            check_fit(geom.bounds, first or _first_coordinate(geom), name, where, crs_declared=True, kind="file")
            check_area_of_use(geom.bounds, declared_crs, name, where)
        return understand(geom, name, source, where, kind="file", first=first)
    if asked:
        raise Problem(422, f"{where}: the file declares {declared} but crs={asked} was sent", parameter="crs")
    check_area_of_use(geom.bounds, declared_crs, declared, where)  # a .prj that lies converts without error
    received = None
    if not geom.is_empty:
        vertices = int(shapely.get_num_coordinates(geom))
        received = received_coordinates(first or _first_coordinate(geom), geom.bounds, vertices, declared)
    # any other CRS the file declares authoritatively: convert with PROJ, then check as WGS84
    transformer = Transformer.from_crs(declared_crs, 4326, always_xy=True)
    wgs84 = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    result = understand(wgs84, "EPSG:4326", source, where, kind="file", received=received)
    result.crs = declared
    return result
