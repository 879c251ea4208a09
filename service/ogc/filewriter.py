"""Write a query's rows to a GDAL file (GeoPackage, Shapefile, FlatGeobuf) in a child process.

``python -m service.ogc.filewriter`` reads a pickled job from stdin: the database URL and, per
layer, the SQL (``id``, the fields, then WKB geometry), its parameters, the field names and kinds,
and where to write.  Rows come from a server-side cursor BATCH_ROWS at a time as Arrow record
batches that ``pyogrio.write_arrow`` streams into one open GDAL dataset: memory holds one batch,
whatever the layer's size.  Running it in its own
small process keeps the web server's memory flat (docs/decisions/0033-downloads.md).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

BATCH_ROWS = 5_000  # rows per Arrow batch: the writer's memory beyond GDAL's own is one batch
INTEGER_KINDS = ("int2", "int4", "int8")
FLOAT_KINDS = ("float4", "float8", "numeric")


class WriterFailed(RuntimeError):
    """The child writer failed; ``message`` is the end of its stderr (GDAL's or the driver's message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def out_of_space(self) -> bool:
        """GDAL or SQLite said the disk is full (GDAL does not always: see ``downloads._out_of_space``)."""
        lowered = self.message.lower()
        return any(m in lowered for m in ("no space left on device", "database or disk is full", "errno 28"))

    @property
    def statement_timeout(self) -> bool:
        return "canceling statement due to statement timeout" in self.message


def run_job(job: dict[str, Any]) -> None:
    """Run a job in a child process; raises WriterFailed with GDAL's message when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "service.ogc.filewriter"], input=pickle.dumps(job), capture_output=True, timeout=3600
    )
    if done.returncode != 0:
        raise WriterFailed(done.stderr.decode(errors="replace")[-2000:])


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    if kind in INTEGER_KINDS:
        return pa.int64()
    if kind in FLOAT_KINDS:
        return pa.float64()
    return {
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "timestamp": pa.timestamp("us"),
    }.get(kind, pa.string())


def _batches(cursor: Any, schema: Any) -> Iterator[Any]:
    """Arrow record batches of BATCH_ROWS rows from the server-side cursor, one at a time."""
    import pyarrow as pa

    while rows := cursor.fetchmany(BATCH_ROWS):
        columns = zip(*rows, strict=True)
        arrays = [pa.array(list(values), type=schema.field(i).type) for i, values in enumerate(columns)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_layer(conn: Any, layer: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyogrio

    fields = [pa.field(name, _arrow_type(kind)) for name, kind in zip(layer["names"], layer["kinds"], strict=True)]
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            *fields,
            pa.field("geometry", pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"}),
        ]
    )
    options: dict[str, Any] = {"encoding": "UTF-8"} if layer["driver"] == "ESRI Shapefile" else {}
    with conn.cursor(name="xiangmap_download") as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(layer["sql"], layer["params"])
        # GDAL pulls the batches through the stream and writes them in one open dataset
        pyogrio.write_arrow(
            pa.RecordBatchReader.from_batches(schema, _batches(cursor, schema)),
            layer["path"],
            layer=layer["layer"],
            driver=layer["driver"],
            geometry_name="geometry",
            geometry_type=layer["geometry_type"],
            crs=f"EPSG:{layer['srid']}",
            **options,
        )


def main() -> None:
    import psycopg

    job = pickle.load(sys.stdin.buffer)
    with psycopg.connect(job["url"]) as conn:
        for layer in job["layers"]:
            _write_layer(conn, layer)


if __name__ == "__main__":
    main()
