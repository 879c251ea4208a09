"""The CRS a download is written in: always x/y (east, longitude first), and only a CRS the file can name.

Items keep the CRS's own axis order (EPSG:4547 and 4490 are northing / latitude first, Part 2).  A
file is read by GDAL and QGIS, which take x/y in every file format and learn the CRS from the file
itself; a northing-first file with nothing in it saying so lands in the wrong place (issue #14 item 2).
So, per format (docs/decisions/0110-download-crs.md):

- GeoPackage, FlatGeobuf, Shapefile: any CRS with an EPSG code, x/y, the SRS stored in the file;
- GeoJSON: any CRS with an EPSG code, x/y, a ``crs`` member (``urn:ogc:def:crs:EPSG::4547``) GDAL
  honours; CRS84 and EPSG:4326 are written as plain RFC 7946 (longitude, latitude, no ``crs``);
- GeoJSON text sequence, KML, CSV: no way to carry a CRS (GDAL reads them as WGS84 longitude,
  latitude); EPSG:4326 is served as CRS84, any other CRS is a 400 naming ``crs`` and the formats that
  can carry it;
- XLSX: a table for people, any CRS; the header row names it;
- GCJ-02 (no EPSG code): every format, longitude first, typed WGS84 in the file as GCJ-02 data always
  is; the ``Content-Crs`` header names it.

The rule is written against CrsInfo and ``epsg_code`` only, so CRSs added to service.ogc.crs are covered.
"""

from __future__ import annotations

from service.errors import Problem
from service.ogc.crs import CRS84_INFO, STORAGE_SRID, CrsInfo, epsg_code, with_xy_axes

LONLAT_ONLY = ("geojsonseq", "kml", "csv")
CARRIES_CRS = ("geojson", "gpkg", "fgb", "shp.zip")
WHY_LONLAT = {
    "geojsonseq": "a GeoJSON text sequence (RFC 8142) has no crs member: GDAL reads it as WGS84 longitude/latitude",
    "kml": "KML is always WGS84 longitude/latitude (OGC KML 2.2)",
    "csv": "a CSV cannot say its CRS: GDAL and QGIS read its WKT as WGS84 longitude/latitude",
}


def geojson_crs_name(info: CrsInfo) -> str | None:
    """The ``crs`` member name a GeoJSON download carries, None for CRS84 / EPSG:4326 (RFC 7946 as it is)."""
    code = epsg_code(info)
    if code is None or code == STORAGE_SRID:
        return None
    return f"urn:ogc:def:crs:EPSG::{code}"


def file_crs(fmt: str, crs: CrsInfo) -> CrsInfo:
    """The CRS ``fmt`` is written in for a request in ``crs`` (x/y), or a 400 Problem naming ``crs``."""
    code = epsg_code(crs)
    if crs.is_gcj02:
        # AMap / Tencent overlays: longitude, latitude moved by GCJ-02, in a file typed WGS84 as such data
        # always is (no CRS can name it); Content-Crs says GCJ-02 (docs/decisions/0141)
        return crs
    if fmt == "xlsx":
        return CRS84_INFO if code == STORAGE_SRID else with_xy_axes(crs)
    if fmt in LONLAT_ONLY:
        if code == STORAGE_SRID:
            return CRS84_INFO
        raise Problem(
            400,
            f"crs: download.{fmt} cannot be given in {crs.uri}: {WHY_LONLAT[fmt]}; leave crs out, or ask for "
            f"{', '.join('download.' + f for f in CARRIES_CRS)} (which carry the CRS) or download.xlsx (a table)",
            parameter="crs",
        )
    if code is None:
        raise Problem(
            400,
            f"crs: {crs.uri} has no EPSG code, so no file can say it is in it; use download.xlsx, "
            "the items, or another crs",
            parameter="crs",
        )
    if fmt == "geojson" and code == STORAGE_SRID:
        return CRS84_INFO
    return with_xy_axes(crs)
