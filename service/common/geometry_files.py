"""A user's geometry file (GeoJSON, KML, GPX or a zipped Shapefile) read safely into shapely geometries in WGS84.

The file goes through the guards every uploaded GIS file passes (``service.common.upload_safety``: the
format its name claims and the driver that opens it, zip bombs and unsafe members, Shapefile sidecars,
XML without DTDs or entities, vertex counts) before GDAL reads it; only the geometries are read, 2D, in
EPSG:4326.  What the geometries may be is the caller's business: a task's built part takes lines or areas
(``service.tasks.built_file``), a case's place a point or an area (``service.cases.places``).  Moved here
from ``service.tasks.built_file`` (issue 16) so both share it.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
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
GPX_LINES = ("tracks", "routes")
WGS84_LIKE = ("EPSG:4326", "EPSG:4490", "OGC:CRS84")


class GeometryFileError(ValueError):
    """The file cannot be read; ``status`` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def file_name(filename: str | None) -> str:
    return Path((filename or "").replace("\\", "/")).name or "file"


def _layers(dataset: Path, gpx_layers: tuple[str, ...]) -> list[str | None]:
    import pyogrio

    if dataset.suffix.lower() != ".gpx":
        return [None]
    present = {str(name) for name, _ in pyogrio.list_layers(dataset)}
    return [layer for layer in gpx_layers if layer in present]


def _to_wgs84(geoms: list[BaseGeometry], crs: Any) -> list[BaseGeometry]:
    if crs is None or crs.to_string() in WGS84_LIKE or crs.to_epsg() in (4326, 4490):
        return geoms
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    return [shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))) for g in geoms]


def _read(dataset: Path, name: str, gpx_layers: tuple[str, ...]) -> list[BaseGeometry]:
    import pyogrio

    geoms: list[BaseGeometry] = []
    for layer in _layers(dataset, gpx_layers):
        try:
            frame = pyogrio.read_dataframe(dataset, layer=layer, columns=[])
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            reason = scrub_paths(str(exc).replace(str(dataset), name))
            raise GeometryFileError(422, f"无法读取“{name}” / GDAL cannot read {name}: {reason}") from None
        found = [shapely.force_2d(g) for g in frame.geometry if g is not None and not g.is_empty]
        geoms.extend(_to_wgs84(found, frame.crs))
    return geoms


def read_geometries(
    filename: str | None,
    content: bytes,
    *,
    suffixes: tuple[str, ...] = SUFFIXES,
    gpx_layers: tuple[str, ...] = GPX_LINES,
    kinds: str = "GeoJSON、KML、GPX 或压缩的 Shapefile（.zip）",
) -> list[BaseGeometry]:
    """Every non-empty geometry of the file, 2D, in EPSG:4326; or GeometryFileError saying why not.

    ``gpx_layers`` are the GPX layers read, by name (GDAL would open the waypoints by default); ``kinds`` names
    the accepted types in the refusal of any other.
    """
    name = file_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise GeometryFileError(
            415,
            f"“{name}”的类型不支持，请传 {kinds} / "
            f"{name}: unsupported type {suffix or '(none)'}; send {', '.join(suffixes)}",
        )
    if not content:
        raise GeometryFileError(422, f"“{name}”是空文件 / {name} is empty")
    limits = dataclasses.replace(UploadLimits.from_settings(), max_vertices=get_settings().max_vertices)
    if len(content) > limits.max_file_bytes:
        most = get_settings().max_upload_mb
        raise GeometryFileError(413, f"“{name}”超过 {most} MB / {name} is larger than {most} MB")
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="xm-geomfile-") as tmp:
            warnings.filterwarnings("ignore", "More than one layer found", UserWarning)
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(content)
            if suffix == ".gpx":
                check_xml(path, name, limits)  # no DTD, no entities; GPX is plain XML
            with prepared(path, name, limits, preferred=(".shp", ".geojson", ".json", ".kml")) as dataset:
                if dataset.suffix.lower() == ".gpx" and check_driver(str(dataset), name) != "GPX":
                    raise GeometryFileError(415, f"“{name}”不是 GPX 文件 / {name} is not a GPX file")
                for layer in _layers(dataset, gpx_layers):
                    check_vertices(str(dataset), layer, name, limits)
                return _read(dataset, name, gpx_layers)
    except UnsafeUpload as exc:
        raise GeometryFileError(exc.status, f"文件“{name}”被拒绝 / {exc.detail}") from None
