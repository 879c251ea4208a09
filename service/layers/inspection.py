"""What a file would publish, before anything is written: fields and their types, CRS, geometry, count, extent.

The preview reads the file's header (``pyogrio.read_info``) and a sample of its first features, never the
whole file, so a million-parcel GeoPackage previews as fast as a ten-feature one.  Everything it detects
(a field's type and column name, the CRS, the encoding) is a suggestion the person may change before
publishing; the load itself checks every feature again in the database (service.layers.bulk).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer

from service.common.crs_area import check_service_area
from service.common.upload_safety import UploadLimits, prepared
from service.layers.files import (
    CHINESE_CRS,
    LOSSLESS,
    SUFFIXES,
    LayerFileError,
    _detected,
    _needs_detection,
    parse_crs,
)
from service.layers.names import column_name, suggest_layer_id

SAMPLE = 2000  # features read to detect the encoding, geometry kinds and repairs
# column types a published layer may have (the database function xm_layer_create accepts these only)
COLUMN_TYPES = ("text", "bigint", "double precision", "boolean", "date", "timestamptz")
TYPE_LABELS = {
    "text": "文本 text",
    "bigint": "整数 integer",
    "double precision": "小数 number",
    "boolean": "是/否 boolean",
    "date": "日期 date",
    "timestamptz": "时间 date-time",
}
# table geometry type -> catalogue / OGC geometry type
GEOMETRY_NAMES = {
    "MULTIPOLYGON": "MultiPolygon",
    "MULTILINESTRING": "MultiLineString",
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "GEOMETRY": "Geometry",
}
NAME_HINTS = ("name", "名称", "名字", "mc", "xmmc", "bhqmc", "zone_name", "title", "标题")
KEY_HINTS = ("key", "id", "code", "bm", "bh", "编号", "编码", "代码", "objectid", "fid")
SUBZONE_HINTS = ("subzone", "分区", "功能区", "kind", "类型", "级别", "gkfq")
CSV_OPTIONS = {
    "X_POSSIBLE_NAMES": "x,lon,lng,long,longitude,经度",
    "Y_POSSIBLE_NAMES": "y,lat,latitude,纬度",
    "GEOM_POSSIBLE_NAMES": "wkt,geom,geometry,the_geom,shape",
    "KEEP_GEOM_COLUMNS": "NO",
}  # no AUTODETECT_TYPE: GDAL would fail a whole read on one impossible date; the values stay text, the preview
# suggests a type from the samples, and the load checks every row (service.layers.bulk) naming the bad one


@dataclass
class FieldPreview:
    source: str  # the field's name in the file
    column: str  # the column it becomes (safe, readable; editable)
    type: str  # one of COLUMN_TYPES (detected; editable)
    detected: str  # what the file says (int64, float64, object ...)
    samples: list[str] = field(default_factory=list)


@dataclass
class Preview:
    file_name: str
    sublayer: str | None
    sublayers: list[str]
    driver: str | None
    encoding: str | None
    crs: str | None  # what the coordinates are in: from the file, or the given choice
    crs_name: str | None
    crs_from: str  # "file", "given" or "missing"
    geometry_type: str  # the table's: MULTIPOLYGON, MULTILINESTRING, POINT, MULTIPOINT, GEOMETRY
    geometry_kinds: dict[str, int]  # in the sample
    features: int
    extent: list[float] | None  # in the file's CRS
    extent_wgs84: list[float] | None
    fields: list[FieldPreview]
    invalid_in_sample: int
    sample_size: int
    repairs: list[str]
    warnings: list[str]
    suggested_id: str
    name_field: str | None
    key_field: str | None
    subzone_field: str | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["geometry"] = GEOMETRY_NAMES[self.geometry_type]
        return data


@dataclass(frozen=True)
class Opened:
    """A file unpacked and ready for GDAL: the dataset path, its sub-layer and the read options."""

    dataset: str
    sublayer: str | None
    sublayers: list[str]
    encoding: str | None
    options: dict[str, str]


def read_options(dataset: str) -> dict[str, str]:
    return dict(CSV_OPTIONS) if dataset.lower().endswith(".csv") else {}


@contextmanager
def opened(
    path: Path,
    name: str,
    *,
    encoding: str | None = None,
    layer_name: str | None = None,
    limits: UploadLimits | None = None,
) -> Iterator[Opened]:
    """Unpack ``path`` safely (zips, sidecars, XML: service.common.upload_safety) and settle its encoding.

    A Shapefile or CSV without a .cpg and without a given encoding is read as bytes and decoded strictly
    as UTF-8, else GB18030 (GBK): never guessed into mojibake.
    """
    if path.suffix.lower() not in SUFFIXES:
        raise LayerFileError(
            f"{name}: unsupported file type {path.suffix or '(none)'}; use one of {', '.join(SUFFIXES)}", status=415
        )
    with prepared(path, name, limits or UploadLimits.local()) as unpacked:
        dataset = str(unpacked)
        try:
            sublayers = [str(row[0]) for row in pyogrio.list_layers(dataset)]
        except Exception as exc:  # GDAL says why
            raise LayerFileError(f"{name} cannot be read as a GIS file: {exc}") from exc
        if layer_name and layer_name not in sublayers:
            raise LayerFileError(
                f"{name} has no layer {layer_name!r}; it has {', '.join(sublayers)}", parameter="layer_name"
            )
        # the first layer unless told: the preview lists the others to choose from
        sublayer = layer_name or (sublayers[0] if len(sublayers) > 1 else None)
        options = read_options(dataset)
        used = encoding
        if _needs_detection(dataset, encoding):
            try:
                sample = pyogrio.read_dataframe(
                    dataset, layer=sublayer, encoding=LOSSLESS, max_features=SAMPLE, **options
                )
            except Exception as exc:  # GDAL or the conversion says why: a 422, never a 500
                raise LayerFileError(f"{name} cannot be read as a GIS file: {exc}") from exc
            if not isinstance(sample, gpd.GeoDataFrame):  # a CSV whose coordinates the raw bytes hid
                sample = gpd.GeoDataFrame(sample, geometry=[None] * len(sample))
            _, used = _detected(sample, name)
        if dataset.lower().endswith(".csv") and used and used.replace("-", "").upper() not in ("UTF8", "ASCII"):
            # GDAL matches 经度 / 纬度 / WKT to the header's bytes: a GBK CSV is turned into UTF-8 first, streaming
            dataset, used = _as_utf8(Path(dataset), used, name), None
        yield Opened(dataset, sublayer, sublayers, used, options)


def _as_utf8(path: Path, codec: str, name: str) -> str:
    """A UTF-8 copy of a text file in ``codec``, next to it (in the upload's own temporary folder)."""
    target = path.with_name(f"{path.stem}.utf8{path.suffix}")
    try:
        with path.open(encoding=codec, newline="") as src, target.open("w", encoding="utf-8", newline="") as out:
            for chunk in iter(lambda: src.read(1 << 20), ""):
                out.write(chunk)
    except (UnicodeError, LookupError) as exc:
        raise LayerFileError(f"{name} is not text in {codec}: {exc}", parameter="encoding") from exc
    return str(target)


SAMPLE_TYPES = (  # text fields (a CSV's are all text): the type their sample values all look like
    ("bigint", re.compile(r"^\s*[-+]?[0-9]{1,18}\s*$")),
    ("double precision", re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")),
    ("date", re.compile(r"^\s*[0-9]{4}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12][0-9]|3[01])\s*$")),
)


def sampled_type(values: list[str]) -> str:
    """The narrowest type every non-empty sample value fits, else text (the person may change it)."""
    present = [v for v in values if v.strip()]
    for kind, pattern in SAMPLE_TYPES if present else ():
        if all(pattern.match(v) for v in present):
            return kind
    return "text"


def column_type(dtype: str) -> str:
    """The column type a file's field type suggests."""
    kind = str(dtype)
    if kind.startswith(("int", "uint")):
        return "bigint"
    if kind.startswith("float"):
        return "double precision"
    if kind == "bool":
        return "boolean"
    if kind.startswith("datetime64[D]") or kind == "date":
        return "date"
    if kind.startswith("datetime"):
        return "timestamptz"
    return "text"


def _table_geometry(declared: str | None, kinds: dict[str, int]) -> str:
    seen = {k.upper() for k in kinds}
    wanted = (declared or "").upper().replace("3D ", "").replace(" Z", "").replace(" M", "")
    families = {k.removeprefix("MULTI") for k in seen} or {wanted.removeprefix("MULTI")}
    if families == {"POLYGON"}:
        return "MULTIPOLYGON"
    if families == {"LINESTRING"}:
        return "MULTILINESTRING"
    if families == {"POINT"}:
        return "MULTIPOINT" if "MULTIPOINT" in seen or wanted == "MULTIPOINT" else "POINT"
    return "GEOMETRY"


def _hint(fields: list[FieldPreview], hints: tuple[str, ...], *, unique: bool = False) -> str | None:
    for hint in hints:
        for f in fields:
            if f.source.lower() == hint or (not unique and hint in f.source.lower()):
                return f.source
    return None


def source_crs(declared: CRS | None, given: str | None) -> tuple[str | None, str | None, str]:
    """(crs string, its name, where it came from); a given choice wins over the file."""
    if given:
        if given.lower() in CHINESE_CRS:
            return given.lower(), CHINESE_CRS[given.lower()], "given"
        crs = parse_crs(given)
        return crs.to_string(), crs.name, "given"
    if declared is None:
        return None, None, "missing"
    epsg = declared.to_epsg(min_confidence=70)
    return (f"EPSG:{epsg}" if epsg else declared.to_wkt()), declared.name, "file"


def to_wgs84_bounds(bounds: list[float], crs: str) -> list[float]:
    if crs in CHINESE_CRS:
        return bounds
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    x0, y0, x1, y1 = transformer.transform_bounds(*bounds)
    return [float(x0), float(y0), float(x1), float(y1)]


def inspect_file(
    path: Path,
    *,
    name: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    limits: UploadLimits | None = None,
) -> Preview:
    """The preview of ``path``; raises LayerFileError (4xx) for a file that cannot be read."""
    shown = name or path.name
    with opened(path, shown, encoding=encoding, layer_name=layer_name, limits=limits) as src:
        try:
            info = pyogrio.read_info(
                src.dataset,
                layer=src.sublayer,
                encoding=src.encoding,
                force_feature_count=True,
                force_total_bounds=True,
                **src.options,
            )
            sample = pyogrio.read_dataframe(
                src.dataset, layer=src.sublayer, encoding=src.encoding, max_features=SAMPLE, **src.options
            )
        except LayerFileError:
            raise
        except Exception as exc:
            raise LayerFileError(f"{shown} cannot be read as a GIS file: {exc}") from exc
    if "geometry" not in sample or info.get("geometry_type") is None:
        raise LayerFileError(
            f"{shown} has no geometry (a CSV needs lon/lat columns such as 经度/纬度 or x/y, or a WKT column)"
        )
    if int(info.get("features") or 0) == 0:
        raise LayerFileError(f"{shown} holds no features")
    taken: set[str] = set()
    fields = []
    for fname, dtype in zip(info["fields"], info["dtypes"], strict=True):
        values = [str(v) for v in sample[fname].head(3).tolist() if v is not None and str(v) != "nan"]
        kind = column_type(dtype)
        if kind == "text" and src.dataset.lower().endswith(".csv"):
            kind = sampled_type([str(v) for v in sample[fname].dropna().tolist()])
        fields.append(FieldPreview(str(fname), column_name(str(fname), taken), kind, str(dtype), values))
    geoms = np.asarray(sample.geometry.values)
    present = geoms[~shapely.is_missing(geoms)]
    kinds: dict[str, int] = {}
    for kind in shapely.get_type_id(present):
        label = shapely.GeometryType(int(kind)).name
        kinds[label] = kinds.get(label, 0) + 1
    invalid = present[~shapely.is_valid(present)]
    reasons = sorted({str(r).split("[")[0].strip() for r in shapely.is_valid_reason(invalid[:50])})
    crs_value, crs_name, crs_from = source_crs(sample.crs if sample.crs is not None else None, crs)
    bounds = [float(v) for v in info["total_bounds"]] if info.get("total_bounds") is not None else None
    warnings: list[str] = []
    wgs84 = None
    if bounds and crs_value:
        try:
            wgs84 = to_wgs84_bounds(bounds, crs_value)
            warnings = check_service_area(tuple(wgs84), crs_name or crs_value, shown)  # type: ignore[arg-type]
        except Exception as exc:
            warnings.append(f"the extent could not be transformed from {crs_value}: {exc}")
    if crs_from == "missing":
        warnings.append("the file does not say its CRS (no .prj): choose one before publishing")
    repairs = []
    if len(invalid):
        repairs.append(
            f"{len(invalid)} of the first {len(present)} features are invalid ({'; '.join(reasons[:5])}): "
            "they will be repaired with ST_MakeValid, and every repair is counted when the layer loads"
        )
    preview_fields = fields
    return Preview(
        file_name=shown,
        sublayer=src.sublayer,
        sublayers=src.sublayers,
        driver=info.get("driver"),
        encoding=src.encoding or info.get("encoding"),
        crs=crs_value,
        crs_name=crs_name,
        crs_from=crs_from,
        geometry_type=_table_geometry(info.get("geometry_type"), kinds),
        geometry_kinds=kinds,
        features=int(info["features"]),
        extent=bounds,
        extent_wgs84=wgs84,
        fields=preview_fields,
        invalid_in_sample=len(invalid),
        sample_size=len(present),
        repairs=repairs,
        warnings=warnings,
        suggested_id=suggest_layer_id(src.sublayer, Path(shown).stem),
        name_field=_hint(fields, NAME_HINTS),
        key_field=_hint(fields, KEY_HINTS, unique=True),
        subzone_field=_hint(fields, SUBZONE_HINTS),
    )


def crs_choices() -> list[tuple[str, str]]:
    """The CRS a person may choose: WGS84, CGCS2000 and every CGCS2000 Gauss-Krüger zone, GCJ-02, BD-09."""
    codes = [4326, 4490, *range(4491, 4555)]
    choices = [(f"EPSG:{c}", f"EPSG:{c} {CRS.from_epsg(c).name}") for c in codes]
    choices += [(k, v) for k, v in CHINESE_CRS.items()]
    return choices
