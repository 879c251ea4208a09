"""The streamed downloads (GeoJSON, GeoJSON text sequence, CSV + WKT, KML): row by row from a server-side
cursor straight into the HTTP response, memory flat whatever the collection's size (decision 0033).

Each takes the CRS to write in from service.ogc.download_crs (x/y, one the file can name): GeoJSON
says it in a ``crs`` member, the others are WGS84 longitude/latitude only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Engine

from service.common.spreadsheet_safety import csv_row
from service.ogc.crs import CRS84_INFO, CrsInfo, output_geometry_sql
from service.ogc.download_crs import geojson_crs_name
from service.ogc.download_rows import limit_sql, primed, row_batches, select_columns, selected_fields
from service.ogc.features import feature_text_sql
from service.ogc.query import ItemsQuery, order_sql, where_sql
from service.ogc.registry import Collection
from service.ogc.sqlparams import SqlParams


def geojson_stream(
    engine: Engine, collection: Collection, query: ItemsQuery, crs: CrsInfo, *, sequence: bool
) -> Iterator[bytes]:
    """A FeatureCollection (or RFC 8142 sequence) in ``crs``, x/y; a ``crs`` member names any CRS but CRS84."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    feature = feature_text_sql(collection, crs, query.properties, crs_in_geometry=False)
    sql = (
        f"SELECT {feature} FROM {collection.source_sql} WHERE {where} "
        f"ORDER BY {order_sql(collection, query)}{limit_sql(query)}"
    )
    head: dict[str, Any] = {"type": "FeatureCollection", "name": collection.id}
    crs_name = geojson_crs_name(crs)
    if crs_name is not None:
        head["crs"] = {"type": "name", "properties": {"name": crs_name}}

    def generate() -> Iterator[bytes]:
        batches = row_batches(engine, sql, params.values)
        if sequence:
            for batch in batches:
                yield "".join(f"\x1e{row[0]}\n" for row in batch).encode()
            return
        yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b',"features":['
        separator = ""
        for batch in batches:
            yield (separator + ",".join(row[0] for row in batch)).encode()
            separator = ","
        yield b"]}"

    return primed(generate())


def csv_stream(engine: Engine, collection: Collection, query: ItemsQuery) -> Iterator[bytes]:
    """CSV with a ``WKT`` column first, WGS84 longitude/latitude: GDAL's CSV driver (so QGIS) takes a
    column named WKT as the geometry with no option at all.  UTF-8 with a BOM for spreadsheet users;
    text a spreadsheet would run as a formula gets a leading apostrophe (service.common.spreadsheet_safety)."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = selected_fields(collection, query)
    geometry = output_geometry_sql("t.geom", CRS84_INFO)
    columns = ", " + select_columns(fields) if fields else ""
    sql = (
        f"SELECT ST_AsText({geometry}, {CRS84_INFO.decimals}), t.id{columns} FROM {collection.source_sql} "
        f"WHERE {where} ORDER BY {order_sql(collection, query)}{limit_sql(query)}"
    )

    def generate() -> Iterator[bytes]:
        batches = row_batches(engine, sql, params.values)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(csv_row(["WKT", "id", *(f.name for f in fields)]))
        yield ("\ufeff" + buffer.getvalue()).encode()
        for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row("" if v is None else v for v in row) for row in batch)
            yield buffer.getvalue().encode()

    return primed(generate())


def kml_geometry_sql(geometry: str) -> str:
    """KML for a geometry: ST_AsKML refuses GeometryCollections, so their parts (every one, nested
    collections flattened by ST_Dump) go in a ``<MultiGeometry>``, which KML 2.2 has for exactly that."""
    return (
        f"CASE WHEN {geometry} IS NULL OR ST_IsEmpty({geometry}) THEN NULL "
        f"WHEN ST_GeometryType({geometry}) = 'ST_GeometryCollection' THEN '<MultiGeometry>' || "
        f"(SELECT string_agg(ST_AsKML(d.geom, 7), '' ORDER BY d.path) FROM ST_Dump({geometry}) d) "
        f"|| '</MultiGeometry>' ELSE ST_AsKML({geometry}, 7) END"
    )


def kml_stream(engine: Engine, collection: Collection, query: ItemsQuery) -> Iterator[bytes]:
    """KML 2.2 (always WGS84 lon/lat): one Placemark per feature, properties as ExtendedData."""
    params = SqlParams()
    where = where_sql(collection, query, params)
    fields = selected_fields(collection, query)
    columns = ", " + select_columns(fields) if fields else ""
    label = "t.name" if "name" in collection.field_map else ("t.title" if "title" in collection.field_map else "t.id")
    sql = (
        f"SELECT t.id, {label}, {kml_geometry_sql('o.g')}{columns} FROM {collection.source_sql} "
        f"CROSS JOIN LATERAL (SELECT {output_geometry_sql('t.geom', CRS84_INFO)} AS g) o "
        f"WHERE {where} ORDER BY {order_sql(collection, query)}{limit_sql(query)}"
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
        batches = row_batches(engine, sql, params.values)
        yield (
            '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>{escape(collection.title)}</name>\n"
        ).encode()
        for batch in batches:
            yield "".join(placemark(row) for row in batch).encode()
        yield b"</Document></kml>\n"

    return primed(generate())


def stream(engine: Engine, collection: Collection, query: ItemsQuery, fmt: str, crs: CrsInfo) -> Iterator[bytes]:
    """The chunks of a streamed format (geojson, geojsonseq, csv, kml) in ``crs`` (from download_crs)."""
    if fmt == "csv":
        return csv_stream(engine, collection, query)
    if fmt == "kml":
        return kml_stream(engine, collection, query)
    return geojson_stream(engine, collection, query, crs, sequence=fmt == "geojsonseq")
