"""Read any OGR-readable layer file into a GeoDataFrame in EPSG:4326.

GIS staff bring GeoJSON, GeoPackage, zipped Shapefiles (often GBK-encoded with a .cpg), KML; some
paste AMap / Baidu coordinates (GCJ-02 / BD-09).  A file without a CRS is refused unless the caller
says what it is: guessing would silently put features kilometres off.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from service.common.chinese_crs import to_wgs84_geometry
from service.common.crs_area import check_area_of_use, check_service_area
from service.common.geometry_guard import GeometryLimits, check_shapely
from service.common.upload_safety import UploadLimits, check_vertices, prepared, scrub_paths
from service.errors import Problem

CHINESE_CRS = {"gcj02": "GCJ-02 (AMap / Tencent)", "bd09": "BD-09 (Baidu)"}
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".fgb", ".gml", ".csv")
# formats whose text may come in any encoding; the others are UTF-8 by definition
DETECTED_ENCODINGS = (".shp", ".csv")
LOSSLESS = "ISO-8859-1"  # every byte is one character: the file's bytes come back with .encode(LOSSLESS)
CANDIDATES = ("UTF-8", "GB18030")  # GB18030 contains GBK and GB2312


class LayerFileError(Problem):
    """The file cannot be used as it is; the detail says why and what to pass instead."""

    def __init__(self, detail: str, status: int = 422, **extra: object) -> None:
        super().__init__(status, scrub_paths(detail), **extra)


@dataclass
class LayerFile:
    frame: gpd.GeoDataFrame  # EPSG:4326, one row per feature in file order
    source_crs: str  # what the coordinates were in, as a person would say it
    sublayer: str | None
    encoding: str | None = None  # of the attributes: given, from the .cpg, or detected
    warnings: list[str] = field(default_factory=list)


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


def _needs_detection(dataset: str, encoding: str | None) -> bool:
    """No encoding given, a format that does not fix one, and (a Shapefile) no .cpg saying which."""
    path = Path(dataset)
    if encoding or path.suffix.lower() not in DETECTED_ENCODINGS:
        return False
    return not any(p.suffix.lower() == ".cpg" and p.stem == path.stem for p in path.parent.iterdir())


def _decode_all(frame: gpd.GeoDataFrame, codec: str) -> tuple[gpd.GeoDataFrame, tuple[int, str] | None]:
    """The text (field names and values) decoded from its bytes with ``codec``, or the first (row, field) failing."""
    columns = {}
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        try:
            columns[column] = column.encode(LOSSLESS).decode(codec)
        except UnicodeError:
            return frame, (0, column)
    decoded = frame.rename(columns=columns)
    for original, column in columns.items():
        values = frame[original]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        out = []
        for index, value in enumerate(values):
            if isinstance(value, str):
                try:
                    value = value.encode(LOSSLESS).decode(codec)
                except UnicodeError:
                    return frame, (index + 1, column)
            out.append(value)
        decoded[column] = pd.Series(out, index=frame.index, dtype=object)
    return decoded, None


def _detected(frame: gpd.GeoDataFrame, name: str) -> tuple[gpd.GeoDataFrame, str]:
    """Strict UTF-8 first, then GB18030 (GBK); the text read as bytes, never guessed into mojibake."""
    failures = []
    for codec in CANDIDATES:
        decoded, failed = _decode_all(frame, codec)
        if failed is None:
            return decoded, codec
        failures.append(failed)
    row, column = failures[-1]
    where = f"the field name {column!r}" if row == 0 else f"row {row}, field {column!r}"
    raise LayerFileError(
        f"{name}: {where} is text in neither UTF-8 nor GB18030/GBK; send a .cpg with the Shapefile or pass "
        "encoding (e.g. encoding=Big5)",
        parameter="encoding",
        fault="undecodable_text",
        row=row or None,
        field=column,
    )


def parse_crs(crs: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise LayerFileError(
            f"unknown CRS {crs!r}: give an EPSG code (EPSG:4326, EPSG:4490, EPSG:4547), gcj02 or bd09",
            status=400,
            parameter="crs",
        ) from exc


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, name: str) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """Reproject to EPSG:4326, then check the data lies where its CRS is used and where xiangmap serves."""
    source_bounds = tuple(float(v) for v in frame.total_bounds)
    source_crs = None if crs and crs.lower() in CHINESE_CRS else (parse_crs(crs) if crs else frame.crs)
    wgs84, label = _reprojected(frame, crs, name)
    lonlat = tuple(float(v) for v in wgs84.total_bounds)
    if source_crs is not None:
        check_area_of_use(source_bounds, source_crs, label, name, lonlat=lonlat)  # type: ignore[arg-type]
    warnings = check_service_area(lonlat, label, name)  # type: ignore[arg-type]
    return wgs84, label, warnings


def _reprojected(frame: gpd.GeoDataFrame, crs: str | None, name: str) -> tuple[gpd.GeoDataFrame, str]:
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


def _check_each_geometry(frame: gpd.GeoDataFrame, name: str, limits: UploadLimits) -> None:
    """The shared write guard (decision 0093) on every feature of a file that came over HTTP: parts, rings,
    nesting and finite numbers, with the per-geometry vertex limit of uploads; ranges follow after the CRS."""
    bounds = dataclasses.replace(GeometryLimits.from_settings(), max_vertices=limits.max_geometry_vertices)
    for index, geom in enumerate(frame.geometry):
        if geom is not None and not geom.is_empty:
            check_shapely(geom, f"{name}, feature {index + 1}", limits=bounds, pointer=f"/features/{index}")


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
        detect = _needs_detection(dataset, encoding)
        frame = _read_frame(dataset, sublayer, LOSSLESS if detect else encoding, name)
        used = encoding
        if detect and isinstance(frame, gpd.GeoDataFrame):
            frame, used = _detected(frame, name)
        elif used is None and dataset.lower().endswith(".shp"):
            used = pyogrio.read_info(dataset, layer=sublayer).get("encoding")
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerFileError(f"{name} has no geometry column (a CSV needs a column named WKT)")
    if len(frame) == 0:
        raise LayerFileError(f"{name} holds no features")
    if limits is not None:
        _check_each_geometry(frame, name, limits)
    frame, source_crs, warnings = _to_wgs84(frame, crs, name)
    return LayerFile(
        frame=frame.reset_index(drop=True), source_crs=source_crs, sublayer=sublayer, encoding=used, warnings=warnings
    )
