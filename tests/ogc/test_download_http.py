"""GDAL opens the download URLs themselves (QGIS's "Protocol HTTP(S)" layer is GDAL's /vsicurl/), every
collection in every format, with every feature, its geometry and its Chinese text (issue #14 item 11).

GDAL runs in a child process against the live server (tests/ogc/gdal_client.py); Debian's GDAL 3.6
``ogrinfo`` too when it is installed.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.ogc.registry import collections
from tests.ogc.gdal_client import gdal_read_many

DEBIAN_OGRINFO = Path("/usr/bin/ogrinfo")
FORMATS = ["geojson", "geojsonseq", "gpkg", "shp.zip", "kml", "csv", "fgb"]


def _expected(engine: Engine, collection_id: str) -> dict[int, tuple[str, bool]]:
    """{id: (label, has a geometry)} from the database."""
    collection = collections(engine)[collection_id]
    label = "title" if collection_id.startswith("projects") else "name"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT t.id, t.{label}, t.geom IS NOT NULL FROM {collection.source_sql}")).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_vsicurl_reads_geojson_and_csv_of_every_collection(live_server: str, engine: Engine) -> None:
    ids = sorted(collections(engine))
    jobs = []
    for collection_id in ids:
        base = f"/vsicurl/{live_server}/collections/{collection_id}"
        jobs.append((f"{base}/download.geojson", {"fid_as_index": True}))  # the id is the feature's id
        jobs.append((f"{base}/download.csv", {}))  # GDAL takes the column named WKT as the geometry, no option
        jobs.append((f"{base}/download.geojson?crs=EPSG:4547", {"fid_as_index": True}))  # with its crs member
    frames = gdal_read_many(jobs)
    for index, collection_id in enumerate(ids):
        expected = _expected(engine, collection_id)
        label = "title" if collection_id.startswith("projects") else "name"
        for frame in frames[3 * index : 3 * index + 3]:
            frame = frame.set_index(frame["id"].astype(int)) if "id" in frame.columns else frame
            assert sorted(frame.index) == sorted(expected), collection_id
            for row in frame.itertuples():
                name, located = expected[int(row.Index)]
                assert getattr(row, label) == name  # Chinese text intact
                assert (row.geometry is not None and not row.geometry.is_empty) == located, (collection_id, row.Index)
        assert frames[3 * index + 2].crs.to_epsg() == 4547


def test_csv_with_a_query_string_opens_with_the_csv_prefix(live_server: str, engine: Engine, ogc_rows: dict) -> None:
    url = f"{live_server}/collections/roads/download.csv?source=ogc%20test"
    frame = gdal_read_many([(f"CSV:/vsicurl/{url}", {})])[0]
    assert sorted(frame["name"]) == ["株冶路", "清雨路", "清霞路"] and frame.geometry.notna().all()


def test_head_of_a_streamed_download_gives_its_size(client: TestClient, ogc_rows: dict) -> None:
    params = {"source": "ogc test"}
    head = client.head("/collections/roads/download.csv", params=params)
    whole = client.get("/collections/roads/download.csv", params=params)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole.content)
    part = client.get("/collections/roads/download.csv", params=params, headers={"Range": "bytes=0-2"})
    assert part.status_code == 206 and part.content == "\ufeff".encode()


@pytest.mark.skipif(
    not DEBIAN_OGRINFO.exists(), reason="Debian's GDAL 3.6 (/usr/bin/ogrinfo, package gdal-bin) is not installed"
)
def test_gdal_36_opens_the_urls(live_server: str, engine: Engine) -> None:
    expected = len(_expected(engine, "projects"))
    for url in ("download.geojson", "download.csv", "download.gpkg", "download.fgb", "download.kml"):
        done = subprocess.run(
            [str(DEBIAN_OGRINFO), "-ro", "-so", "-al", f"/vsicurl/{live_server}/collections/projects/{url}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and "Warning" not in done.stderr, (url, done.stderr)
        assert f"Feature Count: {expected}" in done.stdout, url


def test_every_collection_in_every_format_has_every_feature(client: TestClient, engine: Engine, tmp_path: Path) -> None:
    """Read with pyogrio's GDAL, warnings as errors: GeoPackage 1.3 and the rest open without one.

    The per-geometry-kind views (projects_points ...) are the same code path over their base's rows: one
    stands for them here (the suite's time), the others are read by GDAL and QGIS through OAPIF."""
    registry = collections(engine)
    chosen = [c for c in sorted(registry) if "derived_from" not in registry[c].extra] + ["projects_areas"]
    for collection_id in chosen:
        expected = _expected(engine, collection_id)
        label = "title" if collection_id.startswith("projects") else "name"
        for fmt in FORMATS:
            response = client.get(f"/collections/{collection_id}/download.{fmt}")
            assert response.status_code == 200, (collection_id, fmt, response.text)
            path = tmp_path / f"{collection_id}.{'zip' if fmt == 'shp.zip' else fmt}"
            path.write_bytes(response.content)
            source = f"/vsizip/{path}" if fmt == "shp.zip" else str(path)
            got: dict[int, tuple[str, bool]] = {}
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                for layer, _ in pyogrio.list_layers(source):
                    frame = pyogrio.read_dataframe(source, layer=layer, fid_as_index=True)
                    column = label if label in frame.columns else "Name"
                    ids = frame["id"] if "id" in frame.columns else frame.index  # GeoJSON: the feature id
                    if fmt == "kml":  # <Placemark id="roads.12">
                        ids = ids.str.rsplit(".", n=1).str[1]
                    for fid, name, geometry in zip(ids, frame[column], frame.geometry, strict=True):
                        located = geometry is not None and not geometry.is_empty
                        got[int(fid)] = (name, got.get(int(fid), ("", False))[1] or located)
            assert got == expected, (collection_id, fmt)
