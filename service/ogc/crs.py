"""The coordinate reference systems xiangmap serves (OGC API - Features Part 2) and their axis order.

Storage is EPSG:4326.  Output in a CRS whose first axis points north (EPSG:4326, 4490 and every
CGCS2000 Gauss-Kruger zone) is flipped in SQL, so that ``crs=EPSG:4326`` really is latitude,
longitude as the EPSG register says; CRS84 (the GeoJSON default) and EPSG:3857 are x=east first.
Axis directions come from pyproj.

The Gauss-Kruger zones offered are every CGCS2000 zone that covers Hunan, 3-degree and 6-degree, in
both the "CM" form (false easting 500 km) and the zone-prefixed form (false easting 36 500 km ...):
Chinese survey offices use both (docs/decisions/0140-crs-for-hunan.md).

GCJ-02 (AMap, Tencent) is a named pseudo-CRS for output only: WGS84 longitude/latitude moved by the
published obfuscation, computed in the database (``xm_gcj02``, migration 0012).  It has no EPSG code,
so it is not in the Part 2 ``crs`` list (:func:`supported_uris`); :func:`offered` lists it with the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from pyproj import CRS

from service.common.geometry_guard import servable_sql
from service.errors import Problem

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
STORAGE_SRID = 4326
# CGCS2000 Gauss-Kruger zones over Hunan (108.8-114.3 E): 3-degree CM 108/111/114 E, then the same zones
# with the zone number in the false easting (36/37/38); 6-degree CM 111/117 E, then zones 19/20
GAUSS_KRUGER_HUNAN = (4545, 4546, 4547, 4524, 4525, 4526, 4508, 4509, 4497, 4498)
SUPPORTED_EPSG = (4326, 4490, 3857, *GAUSS_KRUGER_HUNAN)
GCJ02_URI = "urn:xiangmap:crs:GCJ-02"
GCJ02_FORMS = {"gcj-02", "gcj02", GCJ02_URI.lower(), "urn:xiangmap:crs:gcj02"}


@dataclass(frozen=True)
class CrsInfo:
    """One servable CRS: its URI, the PostGIS SRID to transform to, and whether axes are swapped."""

    uri: str
    srid: int
    north_first: bool
    geographic: bool

    @property
    def decimals(self) -> int:
        """Digits kept in output: 7 in degrees (about 1 cm), 2 in metres (1 cm)."""
        return 7 if self.geographic else 2

    @property
    def is_storage_xy(self) -> bool:
        """True when output needs neither a transform nor an axis swap (CRS84)."""
        return self.srid == STORAGE_SRID and not self.north_first and not self.is_gcj02

    @property
    def is_gcj02(self) -> bool:
        """GCJ-02 output.  Derived from the URI, not a field, so that a copy made as
        ``CrsInfo(uri, srid, north_first, geographic)`` (the downloads do) stays GCJ-02."""
        return self.uri == GCJ02_URI

    @property
    def output_only(self) -> bool:
        """True for a pseudo-CRS that cannot be read back (bbox-crs, filter-crs)."""
        return self.is_gcj02


@lru_cache
def crs_for_epsg(code: int) -> CrsInfo:
    crs = CRS.from_epsg(code)
    north_first = crs.axis_info[0].direction.lower() == "north"
    return CrsInfo(EPSG_URI.format(code=code), code, north_first, crs.is_geographic)


CRS84_INFO = CrsInfo(CRS84, STORAGE_SRID, False, True)
GCJ02_INFO = CrsInfo(GCJ02_URI, STORAGE_SRID, False, True)


def supported_uris() -> list[str]:
    """The Part 2 ``crs`` list: real CRSs only, each usable for crs, bbox-crs and filter-crs."""
    return [CRS84, *(EPSG_URI.format(code=c) for c in SUPPORTED_EPSG)]


def offered() -> list[CrsInfo]:
    """Every CRS a client may ask output in: the Part 2 list, then GCJ-02."""
    return [CRS84_INFO, *(crs_for_epsg(c) for c in SUPPORTED_EPSG), GCJ02_INFO]


_EPSG_FORMS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$"),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.IGNORECASE),
    re.compile(r"^\[?EPSG:(\d+)\]?$", re.IGNORECASE),
)
_CRS84_FORMS = {
    CRS84.lower(),
    "https://www.opengis.net/def/crs/ogc/1.3/crs84",
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "crs84",
    "[ogc:crs84]",
    "ogc:crs84",
}


def parse_crs(value: str | None, parameter: str) -> CrsInfo:
    """A ``crs`` / ``bbox-crs`` / ``filter-crs`` value as CrsInfo; 400 naming the parameter otherwise."""
    if value is None or value.strip() == "":
        return CRS84_INFO
    text = value.strip()
    if text.lower() in _CRS84_FORMS:
        return CRS84_INFO
    if text.lower() in GCJ02_FORMS:
        if parameter != "crs":
            raise Problem(
                400,
                f"{parameter}: GCJ-02 is offered for output only (crs=GCJ-02); give the {parameter.split('-')[0]} in "
                f"CRS84 longitude/latitude (the GCJ-02 offset is at most about 700 m in China: widen the box by that)",
                parameter=parameter,
            )
        return GCJ02_INFO
    for pattern in _EPSG_FORMS:
        match = pattern.match(text)
        if match:
            code = int(match.group(1))
            if code in SUPPORTED_EPSG:
                return crs_for_epsg(code)
            break
    raise Problem(
        400,
        f"{parameter}: unsupported CRS {value!r}; use one of {', '.join(supported_uris())}"
        + (f" or {GCJ02_URI} (GCJ-02, output only)" if parameter == "crs" else ""),
        parameter=parameter,
    )


def with_xy_axes(info: CrsInfo) -> CrsInfo:
    """The same CRS written east (longitude) first: what files carry (GeoPackage, Shapefile, FlatGeobuf,
    GeoJSON with a ``crs`` member, WKT in CSV / XLSX), whatever the CRS's own axis order; items keep it."""
    return replace(info, north_first=False)


def epsg_code(info: CrsInfo) -> int | None:
    """The EPSG code of a served CRS (4326 for CRS84), or None for one the EPSG register does not hold:
    a file can only name the CRS it is in when it has a code GDAL knows."""
    if info.uri == CRS84:
        return STORAGE_SRID
    match = _EPSG_FORMS[0].match(info.uri)
    return int(match.group(1)) if match else None


def content_crs_header(info: CrsInfo) -> dict[str, str]:
    return {"Content-Crs": f"<{info.uri}>"}


def output_geometry_sql(column: str, info: CrsInfo) -> str:
    """SQL expression for ``column`` (EPSG:4326, x=lon) in the requested CRS and axis order.

    NULL for a stored row that cannot be served (decision 0093): outside the CRS's valid area (latitude 113
    from swapped axes, which ST_Transform refuses with an error that would fail the whole page) or over
    ``max_vertices``.  Such rows slipped in before the write guard; the page carries them with a null geometry.
    GCJ-02 is every vertex moved by ``xm_gcj02`` (migration 0012), longitude first.
    """
    if info.is_gcj02:
        expr = f"xm_gcj02({column})"
    elif info.srid == STORAGE_SRID:
        expr = column
    else:
        expr = f"ST_Transform({column}, {int(info.srid)})"
    if info.north_first:
        expr = f"ST_FlipCoordinates({expr})"
    return f"CASE WHEN {servable_sql(column, info.srid)} THEN {expr} END"


def input_geometry_sql(geometry_sql: str, info: CrsInfo) -> str:
    """SQL turning a client geometry given in ``info`` (its own axis order) into storage EPSG:4326."""
    if info.output_only:  # parse_crs refuses it for bbox-crs / filter-crs: never reached with GCJ-02
        raise ValueError(f"{info.uri} is for output only")
    expr = f"ST_SetSRID({geometry_sql}, {int(info.srid)})"
    if info.north_first:
        expr = f"ST_FlipCoordinates({expr})"
    if info.srid != STORAGE_SRID:
        # densify first so that straight edges in a projected CRS stay close after reprojection
        step = "0.001" if info.geographic else "100"
        expr = f"ST_Transform(ST_Segmentize({expr}, {step}), {STORAGE_SRID})"
    return expr
