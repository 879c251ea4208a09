"""Whole-collection downloads, with the items filters, streamed so memory stays flat.

Text formats (GeoJSON, GeoJSON text sequence, CSV+WKT, KML) are streamed row by row from a
server-side cursor straight into the HTTP response.  File formats GDAL must write (GeoPackage,
zipped Shapefile, FlatGeobuf) are appended batch by batch by a small child process
(service/ogc/filewriter.py) into a cache file that is then served with Range support, so GDAL's
/vsicurl/ and QGIS can open the URL directly; see docs/decisions/0033-downloads.md.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Engine

from service.common.spreadsheet_safety import csv_row
from service.errors import Problem
from service.ogc.crs import CRS84_INFO, CrsInfo, output_geometry_sql
from service.ogc.features import feature_text_sql
from service.ogc.filewriter import WriterFailed, run_job
from service.ogc.query import ItemsQuery, order_sql, where_sql
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams
from service.settings import get_settings

BATCH_ROWS = 5_000
CACHE_SECONDS = 600
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "xiangmap-downloads"
# pg types a file keeps as they are; anything else is written as text
FILE_KINDS = ("int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "timestamptz")
GDAL_FORMATS = {"gpkg": "GPKG", "fgb": "FlatGeobuf", "shp.zip": "ESRI Shapefile"}


def _limit_sql(query: ItemsQuery) -> str:
    limit = f" LIMIT {int(query.limit)}" if query.limit else ""
    return limit + (f" OFFSET {int(query.offset)}" if query.offset else "")


def _rows(engine: Engine, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    """Batches of rows from a server-side cursor: never more than BATCH_ROWS in Python at once.

    The query runs and its first batch is fetched *now*, before the caller yields anything, so that
    a bad value or filter becomes a problem+json answer instead of a response cut off mid-stream.
    """
    conn = engine.connect()
    try:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH_ROWS).exec_driver_sql(sql, params)
        partitions = result.partitions(BATCH_ROWS)
        first = next(partitions, None)
    except BaseException:
        conn.close()
        raise

    def batches() -> Iterator[list[Any]]:
        try:
            if first is not None:
                yield list(first)
            yield from partitions
        finally:
            conn.close()

    return batches()


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run the query now (errors become problem+json), then stream the rest."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    return rest()


# --- text formats -----------------------------------------------------------------------------
def geojson_stream(engine: Engine, collection: Collection, query: ItemsQuery, *, sequence: bool) -> Iterator[bytes]:
    params = SqlParams()
    where = where_sql(collection, query, params)
    feature = feature_text_sql(collection, query.crs, query.properties)
    sql = (
        f"SELECT {feature} FROM {collection.source_sql} WHERE {where} "
        f"ORDER BY {order_sql(collection, query)}{_limit_sql(query)}"
    )

    def generate() -> Iterator[bytes]:
        batches = _rows(engine, sql, params.values)
        if sequence:
            for batch in batches:
                yield "".join(f"\x1e{row[0]}\n" for row in batch).encode()
            return
        yield b'{"type":"FeatureCollection","name":"' + collection.id.encode() + b'","features":['
        separator = ""
        for batch in batches:
            yield (separator + ",".join(row[0] for row in batch)).encode()
            separator = ","
        yield b"]}"

    return _primed(generate())


def _select_columns(fields: list[Field]) -> str:
    return ", ".join(f.sql for f in fields)


def csv_stream(engine: Engine, collection: Collection, query: ItemsQuery) -> Iterator[bytes]:
    """CSV with a WKT column first (GDAL and QGIS pick it up), UTF-8 with a BOM for spreadsheet users;
    text a spreadsheet would run as a formula gets a leading apostrophe (service.common.spreadsheet_safety)."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = _fields(collection, query)
    geometry = output_geometry_sql("t.geom", _file_crs(query.crs))
    columns = ", " + _select_columns(fields) if fields else ""
    sql = (
        f"SELECT ST_AsText({geometry}, {query.crs.decimals}), t.id{columns} FROM {collection.source_sql} "
        f"WHERE {where} ORDER BY {order_sql(collection, query)}{_limit_sql(query)}"
    )

    def generate() -> Iterator[bytes]:
        batches = _rows(engine, sql, params.values)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(csv_row(["WKT", "id", *(f.name for f in fields)]))
        yield ("\ufeff" + buffer.getvalue()).encode()
        for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row("" if v is None else v for v in row) for row in batch)
            yield buffer.getvalue().encode()

    return _primed(generate())


def kml_stream(engine: Engine, collection: Collection, query: ItemsQuery) -> Iterator[bytes]:
    """KML 2.2 (always WGS84 lon/lat): one Placemark per feature, properties as ExtendedData."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = _fields(collection, query)
    columns = ", " + _select_columns(fields) if fields else ""
    label = "t.name" if "name" in collection.field_map else ("t.title" if "title" in collection.field_map else "t.id")
    sql = (
        f"SELECT t.id, {label}, ST_AsKML(t.geom, 7){columns} FROM {collection.source_sql} "
        f"WHERE {where} ORDER BY {order_sql(collection, query)}{_limit_sql(query)}"
    )
    names = [f.name for f in fields]

    def placemark(row: Any) -> str:
        data = "".join(
            f'<Data name="{escape(n)}"><value>{escape(str(v))}</value></Data>'
            for n, v in zip(names, row[3:], strict=True)
            if v is not None
        )
        geometry = row[2] or ""
        return (
            f'<Placemark id="{collection.id}.{row[0]}"><name>{escape(str(row[1]))}</name>'
            f"<ExtendedData>{data}</ExtendedData>{geometry}</Placemark>\n"
        )

    def generate() -> Iterator[bytes]:
        batches = _rows(engine, sql, params.values)
        yield (
            '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>{escape(collection.title)}</name>\n"
        ).encode()
        for batch in batches:
            yield "".join(placemark(row) for row in batch).encode()
        yield b"</Document></kml>\n"

    return _primed(generate())


def _fields(collection: Collection, query: ItemsQuery) -> list[Field]:
    if query.properties is None:
        return list(collection.fields)
    return [collection.field_map[n] for n in query.properties]


def _file_crs(crs: CrsInfo) -> CrsInfo:
    """Files keep GIS (x, y) axis order whatever the CRS: GDAL records the CRS, QGIS reads it so."""
    return CrsInfo(crs.uri, crs.srid, False, crs.geographic)


# --- GDAL formats -----------------------------------------------------------------------------
def _file_select(fields: list[Field]) -> str:
    """Field expressions for a file: numbers as double precision, unknown types as text."""
    parts = []
    for f in fields:
        if f.pg_type == "numeric" and not f.is_array:
            parts.append(f"CAST({f.sql} AS double precision)")
        elif f.is_array or f.pg_type in FILE_KINDS:
            parts.append(f.sql)
        else:
            parts.append(f"CAST({f.sql} AS text)")
    return "".join(", " + p for p in parts)


def _kind(f: Field) -> str:
    return "text" if f.is_array or f.pg_type not in FILE_KINDS else f.pg_type


SHAPE_PARTS = ((0, "point", "MultiPoint"), (1, "line", "MultiLineString"), (2, "polygon", "MultiPolygon"))
SHAPE_DIMENSION = {"MultiPoint": 1, "MultiLineString": 2, "MultiPolygon": 3}


def write_file(engine: Engine, collection: Collection, query: ItemsQuery, fmt: str, target: Path) -> None:
    """Write the filtered collection to ``target`` in ``fmt`` (gpkg, fgb, shp.zip) via the child writer."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = _fields(collection, query)
    crs = _file_crs(query.crs)
    order = f"ORDER BY {order_sql(collection, query)}{_limit_sql(query)}"
    driver = GDAL_FORMATS[fmt]
    common = {"driver": driver, "params": params.values, "srid": crs.srid, "names": [f.name for f in fields]}
    common["kinds"] = [_kind(f) for f in fields]
    layers: list[dict[str, Any]] = []
    if fmt != "shp.zip":
        geometry_type = "Unknown" if collection.geometry_type == "Geometry" else collection.geometry_type
        sql = (
            f"SELECT t.id{_file_select(fields)}, ST_AsBinary({output_geometry_sql('t.geom', crs)}) "
            f"FROM {collection.source_sql} WHERE {where} {order}"
        )
        layers.append(
            {**common, "path": str(target), "layer": collection.id, "geometry_type": geometry_type, "sql": sql}
        )
    else:
        folder = target.parent / (target.name + ".d")
        folder.mkdir()
        parts: list[tuple[str, str, str]] = []  # (layer name, geometry type, extra condition)
        if collection.geometry_type != "Geometry":
            parts.append((collection.id, collection.geometry_type, "TRUE"))
        else:
            for dim, suffix, kind in SHAPE_PARTS:
                condition = f"ST_Dimension(t.geom) = {dim}" + (" OR t.geom IS NULL" if dim == 0 else "")
                parts.append((f"{collection.id}_{suffix}", kind, f"({condition})"))
        for layer, kind, condition in parts:
            geometry = output_geometry_sql("t.geom", crs)
            if collection.geometry_type == "Geometry":
                geometry = f"ST_Multi(ST_CollectionExtract({geometry}, {SHAPE_DIMENSION[kind]}))"
            sql = (
                f"SELECT t.id{_file_select(fields)}, ST_AsBinary({geometry}) "
                f"FROM {collection.source_sql} WHERE {where} AND {condition} {order}"
            )
            path = str(folder / f"{layer}.shp")
            layers.append({**common, "path": path, "layer": layer, "geometry_type": kind, "sql": sql})
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    run_job({"url": url, "layers": layers})
    if fmt == "shp.zip":
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member in sorted(folder.iterdir()):
                archive.write(member, arcname=member.name)
        shutil.rmtree(folder, ignore_errors=True)


# --- cache of written files ---------------------------------------------------------------------
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def data_stamp(engine: Engine, collection: Collection) -> str:
    """Changes whenever the collection's tables are written: pg_stat row counters, the latest
    ``updated_at``, the row count and (projects) the newest progress report."""
    tables = ["projects", "progress_reports"] if collection.id == "projects" else [collection.id]
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT string_agg(concat_ws(':', relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup), ',') "
            "FROM pg_stat_user_tables WHERE relname = ANY(%(tables)s)",
            {"tables": tables},
        ).scalar_one()
        latest = conn.exec_driver_sql(f'SELECT max(updated_at)::text, count(*) FROM "{collection.table}"').one()
        reports = ""
        if collection.id == "projects":  # pg_stat lags by up to a second: the newest report id does not
            reports = str(conn.exec_driver_sql("SELECT max(id) FROM progress_reports").scalar())
    return f"{row}|{latest[0]}|{latest[1]}|{reports}"


def cache_dir() -> Path:
    """Where written files are kept (``XIANGMAP_DOWNLOAD_CACHE_DIR``)."""
    return get_settings().download_cache_dir or DEFAULT_CACHE_DIR


def cached_file(engine: Engine, collection: Collection, query: ItemsQuery, fmt: str, request_key: str) -> Path:
    """The written file for this request and data state, writing it when missing or stale."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _expire(folder)
    key = hashlib.sha256(f"{request_key}|{data_stamp(engine, collection)}".encode()).hexdigest()[:32]
    target = folder / f"{key}.{fmt}"
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if not target.exists():
            work = folder
            try:
                work = Path(tempfile.mkdtemp(dir=folder))
                partial = work / f"{collection.id}.{fmt}"
                write_file(engine, collection, query, fmt, partial)
                partial.replace(target)
            except (OSError, WriterFailed) as error:
                if _out_of_space(error, work):
                    raise _disk_full(folder) from error
                if isinstance(error, WriterFailed) and error.statement_timeout:
                    raise _writer_timeout() from error
                raise
            finally:
                if work != folder:
                    shutil.rmtree(work, ignore_errors=True)
    return target


LOW_SPACE_BYTES = 1024 * 1024
OUT_OF_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _out_of_space(error: BaseException, work: Path) -> bool:
    """The write failed for want of space: ENOSPC / EDQUOT, GDAL saying so, or (GDAL and SQLite do not
    always say it: "no such table: gpkg_contents" on a full disk) less than 1 MB left where it wrote,
    measured before the partial file is removed."""
    if isinstance(error, OSError) and error.errno in OUT_OF_SPACE_ERRNOS:
        return True
    if isinstance(error, WriterFailed) and error.out_of_space:
        return True
    try:
        return shutil.disk_usage(work).free < LOW_SPACE_BYTES
    except OSError:
        return False


def _disk_full(folder: Path) -> Problem:
    return Problem(
        507,
        f"no disk space left to write the download: the download folder ({folder.name}) is full; nothing "
        "was served; try again later or ask the operator to free space or set XIANGMAP_DOWNLOAD_CACHE_DIR",
        fault="disk_full",
    )


def _writer_timeout() -> Problem:
    seconds = get_settings().db_statement_timeout_ms / 1000
    return Problem(
        504,
        f"the download query ran longer than the statement timeout of {seconds:g} s and was cancelled; "
        "narrow the download (bbox, filter, limit)",
        fault="statement_timeout",
    )


def _expire(folder: Path) -> None:
    cutoff = time.time() - CACHE_SECONDS
    for path in folder.glob("*.*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


__all__ = ["CRS84_INFO", "cached_file", "csv_stream", "geojson_stream", "kml_stream"]
