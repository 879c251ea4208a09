"""The built part of a task uploaded as a file (GeoJSON, KML, GPX or a zipped Shapefile), as one GeoJSON geometry.

The file is read by ``service.common.geometry_files`` (the guards every uploaded GIS file passes, then
GDAL, geometries only, in WGS84).  Lines become one MultiLineString, areas one MultiPolygon; points, or
lines and areas mixed, are refused.  The progress area then checks the geometry like a drawn one (on the
task, of its kind; reports.add_report).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiLineString, MultiPolygon, mapping
from shapely.geometry.base import BaseGeometry

from service.common.geometry_files import SUFFIXES, GeometryFileError, file_name, read_geometries

ACCEPT = ",".join(SUFFIXES)
BuiltFileError = GeometryFileError  # ``status`` is the HTTP status it answers

__all__ = ["ACCEPT", "SUFFIXES", "BuiltFileError", "geometry_from_file"]


def _combine(geoms: list[BaseGeometry], name: str) -> BaseGeometry:
    if not geoms:
        raise BuiltFileError(422, f"“{name}”中没有线或面 / {name} holds no line or area")
    parts = [p for g in geoms for p in shapely.get_parts(g)]
    dims = {int(shapely.get_dimensions(p)) for p in parts}
    if 0 in dims:
        raise BuiltFileError(
            422, f"“{name}”中有点：已建部分应是线（路段、河段）或面（片区） / {name} holds points; send lines or areas"
        )
    if dims == {1, 2}:
        raise BuiltFileError(422, f"“{name}”中线和面混在一起，请只传一种 / {name} mixes lines and areas; send one kind")
    for i, p in enumerate(parts):
        if not bool(np.isfinite(shapely.get_coordinates(p)).all()):
            raise BuiltFileError(422, f"“{name}”第 {i + 1} 个要素有非有限坐标 / {name}: feature {i + 1} is not finite")
    return MultiLineString(parts) if dims == {1} else MultiPolygon(parts)


def geometry_from_file(filename: str, content: bytes) -> dict[str, Any]:
    """The file's lines or areas as one GeoJSON geometry (EPSG:4326), or BuiltFileError saying why not."""
    geoms = read_geometries(filename, content)
    return json.loads(json.dumps(mapping(_combine(geoms, file_name(filename)))))
