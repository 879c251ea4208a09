"""The rows of a download: the fields asked for, LIMIT/OFFSET, and batches from a server-side cursor.

Shared by the streamed formats (service.ogc.download_streams), the spreadsheet
(service.ogc.download_xlsx) and the GDAL formats (service.ogc.downloads), so that every format reads
the same rows in the same order with the same filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from service.ogc.query import ItemsQuery
from service.ogc.registry import Collection, Field

BATCH_ROWS = 5_000


def limit_sql(query: ItemsQuery) -> str:
    limit = f" LIMIT {int(query.limit)}" if query.limit else ""
    return limit + (f" OFFSET {int(query.offset)}" if query.offset else "")


def selected_fields(collection: Collection, query: ItemsQuery) -> list[Field]:
    if query.properties is None:
        return list(collection.fields)
    return [collection.field_map[n] for n in query.properties]


def select_columns(fields: list[Field]) -> str:
    return ", ".join(f.sql for f in fields)


def row_batches(engine: Engine, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
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


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run the query now (errors become problem+json), then stream the rest."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    return rest()
