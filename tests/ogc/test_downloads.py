"""Downloads in every format, read back with GDAL (pyogrio) and compared with the database."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

FORMATS = ["geojson", "geojsonseq", "gpkg", "shp.zip", "kml", "csv", "fgb"]


def _save(client: TestClient, tmp_path: Path, url: str, suffix: str, **params: str) -> Path:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    target = tmp_path / f"download.{suffix}"
    target.write_bytes(response.content)
    return target


def _read(path: Path, suffix: str, layer: str | None = None):  # type: ignore[no-untyped-def]
    if suffix == "shp.zip":
        return pyogrio.read_dataframe(f"/vsizip/{path}", layer=layer)
    if suffix == "csv":
        return pyogrio.read_dataframe(path, GEOM_POSSIBLE_NAMES="WKT", KEEP_GEOM_COLUMNS="NO")
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize("suffix", FORMATS)
def test_roads_download_reads_back_row_for_row(
    client: TestClient, engine: Engine, ogc_rows: dict, tmp_path: Path, suffix: str
) -> None:
    path = _save(client, tmp_path, f"/collections/roads/download.{suffix}", suffix, source="ogc test")
    frame = _read(path, suffix)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, ST_AsBinary(geom) FROM roads WHERE source = 'ogc test' ORDER BY id")
        ).all()
    assert len(frame) == len(rows) == 3
    name_column = "Name" if suffix == "kml" else "name"
    # FlatGeobuf's spatial index orders features along a Hilbert curve: compare by name
    got = dict(zip(frame[name_column], frame.geometry, strict=True))
    assert sorted(got) == sorted(r[0] for r in rows)  # Chinese names intact in every format
    for name, wkb in rows:
        expected = shapely.from_wkb(bytes(wkb))
        actual = shapely.force_2d(got[name])
        if suffix == "shp.zip":  # a Shapefile cannot say "multi" for one part
            actual = shapely.multilinestrings([actual]) if actual.geom_type == "LineString" else actual
        assert shapely.equals_exact(actual, expected, tolerance=1e-6)


def test_shapefile_zip_has_utf8_cpg(client: TestClient, ogc_rows: dict) -> None:
    response = client.get("/collections/roads/download.shp.zip", params={"source": "ogc test"})
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert {"roads.shp", "roads.shx", "roads.dbf", "roads.prj", "roads.cpg"} <= set(names)
    assert zipfile.ZipFile(io.BytesIO(response.content)).read("roads.cpg").decode().strip().upper() in ("UTF-8", "UTF8")


def test_mixed_geometry_projects_in_every_format(client: TestClient, ogc_rows: dict, tmp_path: Path) -> None:
    params = {"plan_id": "ogc-test-plan"}
    gpkg = _read(_save(client, tmp_path, "/collections/projects/download.gpkg", "gpkg", **params), "gpkg")
    by_key = {row.key: row for row in gpkg.itertuples()}
    assert set(by_key) == {"ogc-test-p1", "ogc-test-p2", "ogc-test-p3"}
    assert by_key["ogc-test-p1"].status == "推进中" and by_key["ogc-test-p1"].percent == 60.0
    assert by_key["ogc-test-p3"].geometry is None
    shp = _save(client, tmp_path, "/collections/projects/download.shp.zip", "shp.zip", **params)
    points = _read(shp, "shp.zip", layer="projects_point")
    polygons = _read(shp, "shp.zip", layer="projects_polygon")
    assert sorted(points["key"]) == ["ogc-test-p1", "ogc-test-p3"]  # null geometries ride with the points
    assert list(polygons["key"]) == ["ogc-test-p2"]
    seq = client.get("/collections/projects/download.geojsonseq", params=params)
    assert seq.headers["content-type"].startswith("application/geo+json-seq")
    records = [json.loads(r) for r in seq.text.split("\x1e") if r.strip()]
    assert len(records) == 3


def test_download_errors(client: TestClient) -> None:
    assert client.get("/collections/roads/download.docx").status_code == 404
    assert client.get("/collections/nope/download.gpkg").status_code == 404
    bad = client.get("/collections/roads/download.gpkg", params={"bbox": "1,2"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "bbox"
    bad = client.get("/collections/roads/download.csv", params={"filter": "nope = 1"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "filter"


def test_file_downloads_answer_range_requests(client: TestClient, ogc_rows: dict) -> None:
    whole = client.get("/collections/roads/download.fgb", params={"source": "ogc test"})
    part = client.get("/collections/roads/download.fgb", params={"source": "ogc test"}, headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == whole.content[:8]
