"""Whole-collection downloads written to a file first: GeoPackage, FlatGeobuf, zipped Shapefile (GDAL, in a
child process: service/ogc/filewriter.py) and XLSX (service/ogc/download_xlsx.py), each batch by batch
into a cache file that is then served with Range support, so GDAL's /vsicurl/ and QGIS can open the
URL directly; see docs/decisions/0033-downloads.md.  The streamed formats are in
service/ogc/download_streams.py.

Each writer says what its format could not hold as it is (Shapefile text over 254 bytes, short field
names, XLSX cells over 32,767 characters): the notes are kept beside the cached file and go out in the
``X-Xiangmap-Notes`` header, and in the file itself (README.txt in the zip, the 说明 sheet).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from service.errors import Problem
from service.ogc.crs import CrsInfo, output_geometry_sql
from service.ogc.download_rows import limit_sql, row_batches, selected_fields
from service.ogc.download_shapefile import ENCODINGS, ShapefileLayer, TextReport, dbf_names, header_note, readme
from service.ogc.download_streams import stream
from service.ogc.download_xlsx import XlsxBook, header
from service.ogc.filewriter import WriterFailed, run_job
from service.ogc.query import ItemsQuery, order_sql, where_sql
from service.ogc.registry import Collection, Field
from service.ogc.sqlparams import SqlParams
from service.settings import get_settings

logger = logging.getLogger("xiangmap")

CACHE_SECONDS = 600
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "xiangmap-downloads"
# pg types a file keeps as they are; anything else is written as text
FILE_KINDS = ("int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "timestamptz")
GDAL_FORMATS = {"gpkg": "GPKG", "fgb": "FlatGeobuf", "shp.zip": "ESRI Shapefile"}
FILE_FORMATS = (*GDAL_FORMATS, "xlsx")  # written to the cache, then served with Range support
# GeoPackage 1.3: what GDAL 3.6 (Debian 12, QGIS 3.28 LTR) opens without a warning; GDAL 3.12 writes 1.4
GPKG_OPTIONS = {"VERSION": "1.3"}


@dataclass(frozen=True)
class FileOptions:
    """How a file download is written: its CRS (x/y, from service.ogc.download_crs) and, for a
    Shapefile, the .dbf encoding (``UTF-8`` or ``GBK``)."""

    crs: CrsInfo
    encoding: str = "UTF-8"


@dataclass
class Written:
    """A written download in the cache and what it could not hold as it is (English, for the header)."""

    path: Path
    notes: list[str]


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


# (ST_CollectionExtract type, layer suffix, geometry type, what the layer holds)
SHAPE_PARTS = (
    (1, "point", "MultiPoint", "the point parts; features without a geometry are here too, with a null shape"),
    (2, "line", "MultiLineString", "the line parts"),
    (3, "polygon", "MultiPolygon", "the polygon parts"),
)


def _source(collection: Collection, crs: CrsInfo) -> str:
    """The collection with its output geometry as ``o.g`` (x/y in ``crs``; NULL when not servable)."""
    return f"{collection.source_sql} CROSS JOIN LATERAL (SELECT {output_geometry_sql('t.geom', crs)} AS g) o"


def _shapefile_parts(collection: Collection) -> list[tuple[str, str, str, str, str]]:
    """(layer, geometry type, geometry SQL, condition, description) per .shp: a mixed collection gets one
    per geometry family, and each feature goes to every family it has parts of (ST_CollectionExtract),
    so no part of a GeometryCollection is dropped."""
    if collection.geometry_type != "Geometry":
        return [(collection.id, collection.geometry_type, "o.g", "TRUE", "every feature")]
    parts = []
    for code, suffix, kind, description in SHAPE_PARTS:
        extract = f"ST_CollectionExtract(o.g, {code})"
        condition = f"NOT ST_IsEmpty({extract})"
        if code == 1:
            condition = f"(o.g IS NULL OR ST_IsEmpty(o.g) OR {condition})"
        parts.append((f"{collection.id}_{suffix}", kind, f"ST_Multi({extract})", condition, description))
    return parts


def write_file(
    engine: Engine, collection: Collection, query: ItemsQuery, fmt: str, target: Path, options: FileOptions
) -> list[str]:
    """Write the filtered collection to ``target`` in ``fmt`` (gpkg, fgb, shp.zip via the child writer;
    xlsx and, for a ranged request, the streamed formats here); returns the notes on what the format
    could not hold as it is."""
    if fmt == "xlsx":
        return _write_xlsx(engine, collection, query, target, options.crs)
    if fmt not in GDAL_FORMATS:  # a streamed format asked for by ranges: the same bytes, on disk
        with target.open("wb") as handle:
            for chunk in stream(engine, collection, query, fmt, options.crs):
                handle.write(chunk)
        return []
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = selected_fields(collection, query)
    crs = options.crs
    order = f"ORDER BY {order_sql(collection, query)}{limit_sql(query)}"
    driver = GDAL_FORMATS[fmt]
    names = [f.name for f in fields]
    common: dict[str, Any] = {"driver": driver, "params": params.values, "srid": crs.srid, "names": names}
    common["kinds"] = [_kind(f) for f in fields]
    layers: list[dict[str, Any]] = []
    if fmt != "shp.zip":
        geometry_type = "Unknown" if collection.geometry_type == "Geometry" else collection.geometry_type
        sql = (
            f"SELECT t.id{_file_select(fields)}, ST_AsBinary(o.g) FROM {_source(collection, crs)} WHERE {where} {order}"
        )
        extra: dict[str, Any] = {"dataset_options": GPKG_OPTIONS} if fmt == "gpkg" else {}
        notes = []
        if fmt == "fgb":
            unlocated = _without_geometry(engine, collection, crs, where, params.values)
            if unlocated:
                extra["layer_options"] = {"SPATIAL_INDEX": "NO"}
                notes.append(
                    f"FlatGeobuf written without a spatial index: {unlocated} features have no geometry, which a "
                    "FlatGeobuf index cannot hold (GDAL refuses them); download.gpkg has both"
                )
        layers.append(
            {**common, **extra, "path": str(target), "layer": collection.id, "geometry_type": geometry_type, "sql": sql}
        )
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        _log_warnings(fmt, collection, run_job({"url": url, "layers": layers}))
        return notes
    return _write_shapefile(engine, collection, fields, where, order, common, target, options)


def _without_geometry(engine: Engine, collection: Collection, crs: CrsInfo, where: str, params: dict[str, Any]) -> int:
    """How many of the features asked for have no geometry to write (NULL, empty or not servable)."""
    sql = f"SELECT count(*) FROM {_source(collection, crs)} WHERE ({where}) AND (o.g IS NULL OR ST_IsEmpty(o.g))"
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql, params).scalar_one())


def _write_shapefile(
    engine: Engine,
    collection: Collection,
    fields: list[Field],
    where: str,
    order: str,
    common: dict[str, Any],
    target: Path,
    options: FileOptions,
) -> list[str]:
    folder = target.parent / (target.name + ".d")
    folder.mkdir()
    gdal_encoding, codec = ENCODINGS[options.encoding]
    names = [f.name for f in fields]
    short = dbf_names(names)
    layers: list[dict[str, Any]] = []
    described: list[ShapefileLayer] = []
    for layer, kind, geometry, condition, description in _shapefile_parts(collection):
        sql = (
            f"SELECT t.id{_file_select(fields)}, ST_AsBinary({geometry}) "
            f"FROM {_source(collection, options.crs)} WHERE ({where}) AND {condition} {order}"
        )
        path = str(folder / f"{layer}.shp")
        layers.append(
            {
                **common,
                "path": path,
                "layer": layer,
                "geometry_type": kind,
                "sql": sql,
                "file_names": short,
                "encoding": gdal_encoding,
                "codec": codec,
            }
        )
        described.append(ShapefileLayer(layer, kind, description))
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    report = run_job({"url": url, "layers": layers})
    _log_warnings("shp.zip", collection, report)
    reports = [TextReport(**r) for r in report.get("layers", [])]
    text = readme(collection.id, options.crs.uri, gdal_encoding, described, names, short, reports)
    (folder / "README.txt").write_text(text, encoding="utf-8")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(folder.iterdir()):
            archive.write(member, arcname=member.name)
    shutil.rmtree(folder, ignore_errors=True)
    note = header_note(reports, names, short)
    return [note] if note else []


def _log_warnings(fmt: str, collection: Collection, report: dict[str, Any]) -> None:
    for message in report.get("warnings", []):
        logger.warning("GDAL warned writing %s of %s: %s", fmt, collection.id, message)


def _write_xlsx(engine: Engine, collection: Collection, query: ItemsQuery, target: Path, crs: CrsInfo) -> list[str]:
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = selected_fields(collection, query)
    decimals = crs.decimals
    sql = (
        f"SELECT t.id{_file_select(fields)}, "
        f"CASE WHEN GeometryType(o.g) = 'POINT' THEN round(ST_X(o.g)::numeric, {decimals})::float8 END, "
        f"CASE WHEN GeometryType(o.g) = 'POINT' THEN round(ST_Y(o.g)::numeric, {decimals})::float8 END, "
        f"ST_AsText(o.g, {decimals}) FROM {_source(collection, crs)} "
        f"WHERE {where} ORDER BY {order_sql(collection, query)}{limit_sql(query)}"
    )
    book = XlsxBook(target, collection.title, collection.id, header(fields, crs), crs)
    for batch in row_batches(engine, sql, params.values):
        for row in batch:
            book.add(row)
    return book.close(f"download.gpkg or download.geojson of /collections/{collection.id} has them whole")


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


def cached_file(
    engine: Engine, collection: Collection, query: ItemsQuery, fmt: str, request_key: str, options: FileOptions
) -> Written:
    """The written file for this request and data state (with its notes), writing it when missing or stale."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _expire(folder)
    key = hashlib.sha256(f"{request_key}|{data_stamp(engine, collection)}".encode()).hexdigest()[:32]
    target = folder / f"{key}.{fmt}"
    notes_path = folder / f"{key}.{fmt}.notes.json"
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if not (target.exists() and notes_path.exists()):
            work = folder
            try:
                work = Path(tempfile.mkdtemp(dir=folder))
                partial = work / f"{collection.id}.{fmt}"
                notes = write_file(engine, collection, query, fmt, partial, options)
                notes_path.write_text(json.dumps(notes), encoding="utf-8")
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
        notes = json.loads(notes_path.read_text(encoding="utf-8"))
    return Written(target, notes)


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


__all__ = ["FILE_FORMATS", "FileOptions", "Written", "cached_file"]
