"""Read any OGR-readable layer file into a GeoDataFrame in EPSG:4326.

GIS staff bring GeoJSON, GeoPackage, zipped Shapefiles (often GBK-encoded with a .cpg), KML; some
paste AMap / Baidu coordinates (GCJ-02 / BD-09).  A file without a CRS is refused unless the caller
says what it is: guessing would silently put features kilometres off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from service.domain.chinese_crs import to_wgs84_geometry
from service.domain.upload_safety import UploadLimits, check_vertices, prepared
from service.errors import Problem

CHINESE_CRS = {"gcj02": "GCJ-02 (AMap / Tencent)", "bd09": "BD-09 (Baidu)"}
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".fgb", ".gml", ".csv")


class LayerFileError(Problem):
    """The file cannot be used as it is; the detail says why and what to pass instead."""

    def __init__(self, detail: str, status: int = 422, **extra: object) -> None:
        super().__init__(status, detail, **extra)


@dataclass
class LayerFile:
    frame: gpd.GeoDataFrame  # EPSG:4326, one row per feature in file order
    source_crs: str  # what the coordinates were in, as a person would say it
    sublayer: str | None


def _choose_sublayer(dataset: str, wanted: str | None, target_layer: str, name: str) -> str | None:
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(dataset)]
    except Exception as exc:  # GDAL says why in its message
        raise LayerFileError(f"{name} cannot be read as a GIS file: {exc}") from exc
    if wanted:
        if wanted not in layers:
            raise LayerFileError(f"{name} has no layer {wanted!r}; it has {', '.join(layers)}", parameter="layer_name")
        return wanted
    if len(layers) <= 1 or dataset.lower().endswith(".kml"):
        return None  # KML folders are read together below
    if target_layer in layers:
        return target_layer
    raise LayerFileError(
        f"{name} has several layers ({', '.join(layers)}); say which one with layer_name", parameter="layer_name"
    )


def _read_frame(dataset: str, sublayer: str | None, encoding: str | None, name: str) -> gpd.GeoDataFrame:
    try:
        if dataset.lower().endswith(".kml") and sublayer is None:
            parts = [
                pyogrio.read_dataframe(dataset, layer=str(layer[0]), encoding=encoding)
                for layer in pyogrio.list_layers(dataset)
            ]
            parts = [p for p in parts if len(p)]
            if not parts:
                return gpd.GeoDataFrame(geometry=[])
            return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
        return pyogrio.read_dataframe(dataset, layer=sublayer, encoding=encoding)
    except LayerFileError:
        raise
    except Exception as exc:
        raise LayerFileError(f"{name} cannot be read: {exc}") from exc


def parse_crs(crs: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise LayerFileError(
            f"unknown CRS {crs!r}: give an EPSG code (EPSG:4326, EPSG:4490, EPSG:4547), gcj02 or bd09",
            status=400,
            parameter="crs",
        ) from exc


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, name: str) -> tuple[gpd.GeoDataFrame, str]:
    """Reproject to EPSG:4326; ``crs`` overrides what the file says (or says nothing)."""
    if crs and crs.lower() in CHINESE_CRS:
        if frame.crs is not None and not frame.crs.is_geographic:
            raise LayerFileError(
                f"{name} is in projected {frame.crs.name}; {crs} coordinates are longitude/latitude", parameter="crs"
            )
        converted = frame.geometry.apply(lambda g: None if g is None else to_wgs84_geometry(g, crs.lower()))
        label = CHINESE_CRS[crs.lower()]
        return _in_range(
            gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=converted, crs=4326), label, name
        ), label
    if crs:
        frame = frame.set_crs(parse_crs(crs), allow_override=True)
    elif frame.crs is None:
        raise LayerFileError(
            f"{name} has no coordinate reference system (no .prj / crs); pass crs "
            "(e.g. EPSG:4326, EPSG:4490, EPSG:4547, gcj02 for AMap/Tencent, bd09 for Baidu)",
            status=400,
            parameter="crs",
        )
    label = frame.crs.to_string()
    return _in_range(frame.to_crs(4326), label, name), label


def _in_range(frame: gpd.GeoDataFrame, label: str, name: str) -> gpd.GeoDataFrame:
    """Catch the classic mistake: projected metres labelled as degrees (or a failed transformation)."""
    x0, y0, x1, y1 = frame.total_bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise LayerFileError(
            f"{name}: coordinates read as {label} fall outside longitude/latitude ({x0:.6g}, {y0:.6g}, {x1:.6g}, "
            f"{y1:.6g}); the file's CRS is probably wrong: pass crs (e.g. EPSG:4547 for CGCS2000 metres)",
            parameter="crs",
        )
    return frame


def read_layer_file(
    path: Path,
    target_layer: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    display_name: str | None = None,
    limits: UploadLimits | None = None,
) -> LayerFile:
    """Read ``path`` (any OGR format), detect or apply its CRS and return features in EPSG:4326.

    Every file passes ``upload_safety`` first (zips extracted safely, XML without entities, Shapefile
    sidecars present); ``limits`` adds size and vertex limits for files that came over HTTP.
    """
    name = display_name or path.name
    if path.suffix.lower() not in SUFFIXES:
        raise LayerFileError(
            f"{name}: unsupported file type {path.suffix or '(none)'}; use one of {', '.join(SUFFIXES)}", status=415
        )
    if crs and crs.lower() not in CHINESE_CRS:
        parse_crs(crs)  # a wrong --crs is reported before the file is read
    with prepared(path, name, limits or UploadLimits.local()) as unpacked:
        dataset = str(unpacked)
        sublayer = _choose_sublayer(dataset, layer_name, target_layer, name)
        check_vertices(dataset, sublayer, name, limits or UploadLimits.local())
        frame = _read_frame(dataset, sublayer, encoding, name)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerFileError(f"{name} has no geometry column (a CSV needs a column named WKT)")
    if len(frame) == 0:
        raise LayerFileError(f"{name} holds no features")
    frame, source_crs = _to_wgs84(frame, crs, name)
    return LayerFile(frame=frame.reset_index(drop=True), source_crs=source_crs, sublayer=sublayer)
