"""The built part of a task uploaded as a file (GeoJSON, KML, GPX or a zipped Shapefile), as one GeoJSON geometry.

The file goes through the guards every uploaded GIS file passes (service.common.upload_safety: the format
its name claims and the driver that opens it, zip bombs and unsafe members, Shapefile sidecars, XML
without DTDs or entities, vertex counts) before GDAL reads it; only the geometries are read.  Lines
become one MultiLineString, areas one MultiPolygon; points, or lines and areas mixed, are refused.  The
progress area then checks the geometry like a drawn one (on the task, of its kind; reports.add_report).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiLineString, MultiPolygon, mapping
from shapely.geometry.base import BaseGeometry

from service.common.upload_safety import (
    UnsafeUpload,
    UploadLimits,
    check_driver,
    check_vertices,
    check_xml,
    prepared,
    scrub_paths,
)
from service.settings import get_settings

SUFFIXES = (".geojson", ".json", ".kml", ".gpx", ".zip")
ACCEPT = ",".join(SUFFIXES)
GPX_LAYERS = ("tracks", "routes")
WGS84_LIKE = ("EPSG:4326", "EPSG:4490", "OGC:CRS84")


class BuiltFileError(ValueError):
    """The file cannot give the built part; ``status`` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _layers(dataset: Path) -> list[str | None]:
    import pyogrio

    if dataset.suffix.lower() != ".gpx":
        return [None]
    present = {str(name) for name, _ in pyogrio.list_layers(dataset)}
    return [layer for layer in GPX_LAYERS if layer in present]


def _to_wgs84(geoms: list[BaseGeometry], crs: Any) -> list[BaseGeometry]:
    if crs is None or crs.to_string() in WGS84_LIKE or crs.to_epsg() in (4326, 4490):
        return geoms
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    return [shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))) for g in geoms]


def _read(dataset: Path, name: str) -> list[BaseGeometry]:
    import pyogrio

    geoms: list[BaseGeometry] = []
    for layer in _layers(dataset):
        try:
            frame = pyogrio.read_dataframe(dataset, layer=layer, columns=[])
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            reason = scrub_paths(str(exc).replace(str(dataset), name))
            raise BuiltFileError(422, f"无法读取“{name}” / GDAL cannot read {name}: {reason}") from None
        found = [shapely.force_2d(g) for g in frame.geometry if g is not None and not g.is_empty]
        geoms.extend(_to_wgs84(found, frame.crs))
    return geoms


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
    name = Path(filename.replace("\\", "/")).name or "file"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise BuiltFileError(
            415,
            f"“{name}”的类型不支持，请传 GeoJSON、KML、GPX 或压缩的 Shapefile（.zip） / "
            f"{name}: unsupported type {suffix or '(none)'}; send {', '.join(SUFFIXES)}",
        )
    if not content:
        raise BuiltFileError(422, f"“{name}”是空文件 / {name} is empty")
    limits = dataclasses.replace(UploadLimits.from_settings(), max_vertices=get_settings().max_vertices)
    if len(content) > limits.max_file_bytes:
        most = get_settings().max_upload_mb
        raise BuiltFileError(413, f"“{name}”超过 {most} MB / {name} is larger than {most} MB")
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="xm-built-") as tmp:
            # GPX has five layers and GDAL opens the waypoints by default: the tracks and routes are read by name
            warnings.filterwarnings("ignore", "More than one layer found", UserWarning)
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(content)
            if suffix == ".gpx":
                check_xml(path, name, limits)  # no DTD, no entities; GPX is plain XML
            with prepared(path, name, limits, preferred=(".shp", ".geojson", ".json", ".kml")) as dataset:
                if dataset.suffix.lower() == ".gpx" and check_driver(str(dataset), name) != "GPX":
                    raise BuiltFileError(415, f"“{name}”不是 GPX 文件 / {name} is not a GPX file")
                for layer in _layers(dataset):
                    check_vertices(str(dataset), layer, name, limits)
                geoms = _read(dataset, name)
    except UnsafeUpload as exc:
        raise BuiltFileError(exc.status, f"文件“{name}”被拒绝 / {exc.detail}") from None
    return json.loads(json.dumps(mapping(_combine(geoms, name))))
