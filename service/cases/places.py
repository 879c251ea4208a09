"""A case's place: drawn on a map, read from an uploaded file, or a phone's position; always WGS84, guarded.

Three ways in (``PlaceIn``): a GeoJSON Point / Polygon / MultiPolygon drawn on the map (WGS84), an uploaded
KML / GPX / zipped Shapefile / GeoJSON (read by ``service.common.geometry_files``), or a phone's position
(lon, lat, accuracy in metres) in WGS84 (browser geolocation), GCJ-02 (高德, 腾讯) or BD-09 (百度).  GCJ-02
and BD-09 are converted to WGS84: BD-09 → GCJ-02 by its closed formula, GCJ-02 → WGS84 by iterating the
forward transform until it reproduces the given position to well under 0.01 m (``service.common.chinese_crs``;
the tests compare with the database's ``xm_gcj02``).  Everything passes the shared geometry guard
(decision 0093); a position out of range, with its axes swapped, or outside the service area is a 400
that names the field.  The city (长沙市 / 株洲市 / 湘潭市) comes from the districts layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.cases.schemas import PlaceIn, PositionIn, Upload
from service.common.chinese_crs import bd09_to_gcj02_approx, gcj02_to_wgs84, outside_china
from service.common.geometry_files import GeometryFileError, file_name, read_geometries
from service.common.geometry_guard import check_ranges, check_shapely, check_stored_geojson
from service.errors import Problem

DRAWN_TYPES = ("Point", "Polygon", "MultiPolygon")
FILE_SUFFIXES = (".geojson", ".json", ".kml", ".kmz", ".gpx", ".zip")
FILE_KINDS = "KML、KMZ、GPX、GeoJSON 或压缩的 Shapefile（.zip）"
GPX_LAYERS = ("waypoints", "tracks", "routes")  # a patrol's waypoint is a place; a closed track an area
_CRS_NAMES = {"WGS84": "EPSG:4326", "GCJ-02": "gcj02", "BD-09": "bd09"}


@dataclass
class Place:
    """One place in WGS84 with how it was given (``position_source``, ``position_crs``, ``accuracy_m``)."""

    geometry: BaseGeometry
    source: str  # drawn / file / gps (cases.position_source)
    crs: str = "WGS84"  # WGS84 / GCJ-02 / BD-09 (cases.position_crs): what the client sent
    accuracy_m: float | None = None
    given: dict[str, Any] = field(default_factory=dict)  # what was sent, for the event's details

    @property
    def geojson(self) -> dict[str, Any]:
        return json.loads(json.dumps(mapping(self.geometry)))

    @property
    def wkt(self) -> str:
        return shapely.to_wkt(self.geometry, rounding_precision=-1)


def _refused(exc: Problem, field_name: str) -> Problem:
    """The guard's fault as a 400 naming the field (swapped axes, out of range, outside the service area)."""
    extra = {k: v for k, v in exc.extra.items() if k not in ("pointer", "parameter")}
    zh = {
        "swapped_axes": "经纬度似乎写反了（应先经度后纬度）",
        "out_of_range": "坐标超出范围",
        "outside_service_area": "位置不在服务范围内（中国境内）",
        "not_finite": "坐标不是有限数",
        "empty": "位置为空",
    }.get(str(extra.get("fault")), "位置有误")
    return Problem(400, f"{field_name}：{zh} / {exc.detail}", parameter=field_name, **extra)


# ---------------------------------------------------------------- positions: WGS84, GCJ-02, BD-09


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 → GCJ-02 by the closed formula Baidu's own inverse uses."""
    return bd09_to_gcj02_approx(lon, lat)


def position_to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A position in WGS84 / GCJ-02 / BD-09 as WGS84 (GCJ-02 inverted by iteration to < 1e-10 degrees)."""
    if crs == "WGS84":
        return lon, lat
    if crs == "BD-09":
        lon, lat = bd09_to_gcj02(lon, lat)
    if crs in ("GCJ-02", "BD-09"):
        return gcj02_to_wgs84(lon, lat)
    raise Problem(400, f"position.crs {crs!r}：不支持 / use WGS84, GCJ-02 or BD-09", parameter="position.crs")


def place_from_position(position: PositionIn) -> Place:
    lon, lat = position.lon, position.lat
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise Problem(
            400, "position：坐标不是有限数 / position: lon and lat must be finite numbers", parameter="position"
        )
    try:
        # the ranges, swapped axes and the service area, as sent (GCJ-02 / BD-09 are offsets of a few hundred metres)
        check_ranges((lon, lat, lon, lat), _CRS_NAMES[position.crs], "position")
    except Problem as exc:
        raise _refused(exc, "position") from None
    if position.crs != "WGS84" and outside_china(lon, lat):
        raise Problem(
            400,
            f"position：{position.crs} 只用于中国境内 / position: {position.crs} positions exist only in China",
            parameter="position",
        )
    wlon, wlat = position_to_wgs84(lon, lat, position.crs)
    given = {"lon": lon, "lat": lat, "crs": position.crs, "accuracy_m": position.accuracy_m}
    return Place(Point(wlon, wlat), "gps", position.crs, position.accuracy_m, given)


# ---------------------------------------------------------------- drawn geometries and files


def place_from_geojson(geometry: dict[str, Any]) -> Place:
    try:
        check_stored_geojson(geometry, "/geometry", allowed=DRAWN_TYPES)
    except Problem as exc:
        if exc.status == 413:
            raise
        raise _refused(exc, "geometry") from None
    geom = shape(geometry)
    return Place(_valid(geom, "geometry"), "drawn", given={"type": geometry.get("type")})


def _valid(geom: BaseGeometry, field_name: str) -> BaseGeometry:
    if geom.is_empty:
        raise Problem(400, f"{field_name}：位置为空 / {field_name}: the geometry is empty", parameter=field_name)
    if not geom.is_valid:
        fixed = shapely.make_valid(geom)
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon"]
        if geom.geom_type != "Point" and not polys:
            raise Problem(
                400, f"{field_name}：面无效 / {field_name}: the area is invalid (self-crossing)", parameter=field_name
            )
        geom = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    return geom


def place_from_file(upload: Upload) -> Place:
    """One point or one (multi)polygon from the file: a single waypoint, or its areas (closed tracks as areas)."""
    name = file_name(upload.filename)
    try:
        geoms = read_geometries(
            upload.filename, upload.content, suffixes=FILE_SUFFIXES, gpx_layers=GPX_LAYERS, kinds=FILE_KINDS
        )
    except GeometryFileError as exc:
        raise Problem(exc.status, str(exc), parameter="place_file") from None
    parts = [p for g in geoms for p in shapely.get_parts(g)]
    points = [p for p in parts if p.geom_type == "Point"]
    areas = [p for p in parts if p.geom_type == "Polygon"]
    lines = [p for p in parts if p.geom_type == "LineString"]
    areas += [shapely.Polygon(line.coords) for line in lines if line.is_closed and len(line.coords) >= 4]
    if areas:
        geom: BaseGeometry = areas[0] if len(areas) == 1 else MultiPolygon(areas)
    elif len(points) == 1:
        geom = points[0]
    elif points:
        raise Problem(
            400,
            f"place_file：“{name}”中有 {len(points)} 个点，案件位置只能是一个点或一个面 / "
            f"{name} holds {len(points)} points; a case's place is one point or an area",
            parameter="place_file",
        )
    else:
        raise Problem(
            400,
            f"place_file：“{name}”中没有点或面 / {name} holds no point and no area (open lines are not a place)",
            parameter="place_file",
        )
    try:
        measured = check_shapely(geom, "place_file")
        check_ranges(measured.box(), "EPSG:4326", "place_file")
    except Problem as exc:
        if exc.status == 413:
            raise
        raise _refused(exc, "place_file") from None
    return Place(_valid(geom, "place_file"), "file", given={"file": name})


def place_from(place: PlaceIn, place_file: Upload | None = None) -> Place:
    """Exactly one of the drawn geometry, the position, or the file; else 400 saying which were sent."""
    given = [
        n for n, v in (("geometry", place.geometry), ("position", place.position), ("place_file", place_file)) if v
    ]
    if len(given) != 1:
        raise Problem(
            400,
            "案件位置须给出且只给出一种：地图上画的 geometry、手机定位 position 或上传的 place_file / "
            "send exactly one of geometry (drawn, GeoJSON), position (lon, lat, accuracy, crs) or place_file"
            + (f"; got {', '.join(given)}" if given else "; got none"),
            parameter="geometry",
        )
    if place.position is not None:
        return place_from_position(place.position)
    if place.geometry is not None:
        return place_from_geojson(place.geometry)
    assert place_file is not None
    return place_from_file(place_file)


def city_of(session: Session, place: Place) -> str | None:
    """The city of the district holding the place's representative point (None outside the three cities)."""
    return session.execute(
        text(
            "SELECT d.city FROM districts d"
            " WHERE ST_Intersects(d.geom, ST_PointOnSurface(ST_GeomFromText(:wkt, 4326)))"
            " ORDER BY d.adcode LIMIT 1"
        ),
        {"wkt": place.wkt},
    ).scalar_one_or_none()
