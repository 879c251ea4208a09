"""Write a query's rows to a GDAL file (GeoPackage, Shapefile, FlatGeobuf) in a child process.

``python -m service.ogc.filewriter`` reads a pickled job from stdin: the database URL and, per
layer, the SQL (``id``, the fields, then WKB geometry), its parameters, the field names and kinds,
and where to write.  Rows come from a server-side cursor BATCH_ROWS at a time as Arrow record
batches that ``pyogrio.write_arrow`` streams into one open GDAL dataset: memory holds one batch,
whatever the layer's size.  Running it in its own
small process keeps the web server's memory flat (docs/decisions/0033-downloads.md).

A Shapefile layer's text is fitted to its .dbf on the way (service.ogc.download_shapefile.DbfText: cut
or replaced values go in full to a sidecar CSV); what was fitted, and any warning GDAL gave, comes back
as JSON on stdout, so the download can say it (docs/decisions/0111-shapefile-limits.md).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
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


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run a job in a child process; its report (``layers``: what each .dbf could not hold, ``warnings``:
    GDAL's); raises WriterFailed with GDAL's message when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "service.ogc.filewriter"], input=pickle.dumps(job), capture_output=True, timeout=3600
    )
    if done.returncode != 0:
        raise WriterFailed(done.stderr.decode(errors="replace")[-2000:])
    return json.loads(done.stdout.decode() or "{}")


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


def _batches(cursor: Any, schema: Any, text: Any = None) -> Iterator[Any]:
    """Arrow record batches of BATCH_ROWS rows from the server-side cursor, one at a time (each row's
    text fitted to the .dbf by ``text``, a DbfText, for a Shapefile)."""
    import pyarrow as pa

    while rows := cursor.fetchmany(BATCH_ROWS):
        if text is not None:
            rows = [text.fit(row) for row in rows]
        columns = zip(*rows, strict=True)
        arrays = [pa.array(list(values), type=schema.field(i).type) for i, values in enumerate(columns)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _write_layer(conn: Any, layer: dict[str, Any]) -> dict[str, Any] | None:
    """Write one layer; for a Shapefile, the report of what its .dbf could not hold (else None)."""
    import pyarrow as pa
    import pyogrio

    from service.ogc.download_shapefile import DbfText

    written = layer.get("file_names", layer["names"])  # a Shapefile's short .dbf names
    fields = [pa.field(name, _arrow_type(kind)) for name, kind in zip(written, layer["kinds"], strict=True)]
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            *fields,
            pa.field("geometry", pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"}),
        ]
    )
    options: dict[str, Any] = {}
    text = None
    if layer["driver"] == "ESRI Shapefile":
        options["encoding"] = layer["encoding"]
        columns = [i + 1 for i, kind in enumerate(layer["kinds"]) if kind == "text"]
        text = DbfText(layer["layer"], Path(layer["path"]).parent, layer["names"], columns, layer["codec"])
    for key in ("dataset_options", "layer_options"):
        if layer.get(key):
            options[key] = layer[key]
    with conn.cursor(name="xiangmap_download") as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(layer["sql"], layer["params"])
        # GDAL pulls the batches through the stream and writes them in one open dataset
        pyogrio.write_arrow(
            pa.RecordBatchReader.from_batches(schema, _batches(cursor, schema, text)),
            layer["path"],
            layer=layer["layer"],
            driver=layer["driver"],
            geometry_name="geometry",
            geometry_type=layer["geometry_type"],
            crs=f"EPSG:{layer['srid']}",
            **options,
        )
    return asdict(text.close()) if text is not None else None


def main() -> None:
    import psycopg

    job = pickle.load(sys.stdin.buffer)
    reports = []
    with warnings.catch_warnings(record=True) as caught, psycopg.connect(job["url"]) as conn:
        warnings.simplefilter("always")
        for layer in job["layers"]:
            reports.append(_write_layer(conn, layer))
    said = [str(w.message) for w in caught]
    sys.stdout.write(json.dumps({"layers": [r for r in reports if r is not None], "warnings": said}))


if __name__ == "__main__":
    main()
