"""Every download format in every offered CRS, read back with GDAL: in the right place, every feature,
every character (issue #14 items 2, 3, 10; the formats that cannot carry a CRS refuse it clearly).

The CRSs come from service.ogc.crs.supported_uris(), so a CRS added there is covered here.  GDAL is
pyogrio's (3.12) and, when /usr/bin/ogr2ogr is there, Debian's 3.6 too (what QGIS 3.28 LTR ships with).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.ogc.crs import epsg_code, parse_crs, supported_uris
from service.ogc.download_crs import LONLAT_ONLY
from tests.ogc.download_cases import PLAN, inserted, same_place, to_crs84

FORMATS = ["geojson", "geojsonseq", "gpkg", "shp.zip", "kml", "csv", "fgb", "xlsx"]
SUFFIX = {"shp.zip": "zip", "geojsonseq": "geojsons"}
DEBIAN_OGR2OGR = Path("/usr/bin/ogr2ogr")


@pytest.fixture(scope="module")
def download_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    with inserted(engine) as rows:
        yield rows


def _refused(fmt: str, uri: str) -> bool:
    code = epsg_code(parse_crs(uri, "crs"))
    if fmt in LONLAT_ONLY:
        return code != 4326
    return code is None and fmt != "xlsx"


def _download(client: TestClient, tmp_path: Path, fmt: str, uri: str) -> tuple[Path, Any]:
    response = client.get(f"/collections/projects/download.{fmt}", params={"plan_id": PLAN, "crs": uri})
    assert response.status_code == 200, response.text
    path = tmp_path / f"projects.{SUFFIX.get(fmt, fmt)}"
    path.write_bytes(response.content)
    return path, response


def _sidecar_text(path: Path) -> dict[str, dict[int, str]]:
    """The full text of the Shapefile sidecars: {layer: {id: task_text}}."""
    found: dict[str, dict[int, str]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith("_text.csv"):
                lines = archive.read(name).decode("utf-8-sig")
                rows = list(csv.DictReader(io.StringIO(lines)))
                found[name.removesuffix("_text.csv")] = {int(r["id"]): r["task_text"] for r in rows if r["task_text"]}
    return found


def _features(path: Path, fmt: str) -> tuple[dict[str, tuple[Any, str | None]], int | None]:
    """{key: (geometry as written, task_text)} and the EPSG code the file says, read by GDAL."""
    if fmt == "shp.zip":
        source = f"/vsizip/{path}"
        sidecars = _sidecar_text(path)
        merged: dict[str, list[Any]] = {}
        texts: dict[str, str] = {}
        codes = set()
        for layer, _ in pyogrio.list_layers(source):
            frame = pyogrio.read_dataframe(source, layer=layer)
            codes.add(frame.crs.to_epsg())
            full = sidecars.get(layer, {})
            for row in frame.itertuples():
                merged.setdefault(row.key, [])
                if row.geometry is not None:
                    merged[row.key].append(row.geometry)
                texts[row.key] = full.get(int(row.id), row.task_text)
        assert len(codes) == 1
        features = {k: (shapely.geometrycollections(g) if g else None, texts[k]) for k, g in merged.items()}
        return features, codes.pop()
    frame = pyogrio.read_dataframe(path)
    code = frame.crs.to_epsg() if frame.crs is not None else None
    return {row.key: (row.geometry, row.task_text) for row in frame.itertuples()}, code


def _xlsx_features(path: Path) -> dict[str, tuple[Any, str | None]]:
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    head = list(rows[0])
    assert head[0] == "编号 id" and "标题 title" in head  # a Chinese header row
    key, task, wkt, note = head.index("键 key"), head.index("任务内容 task_text"), len(head) - 2, len(head) - 1
    assert head[wkt].startswith("WKT (") and head[note] == "备注 note"
    for row in rows:  # no cell over Excel's limit, on any sheet
        assert all(len(str(v)) <= 32_767 for v in row if v is not None)
    found = {}
    for row in rows[1:]:
        geometry = shapely.from_wkt(row[wkt]) if row[wkt] else None
        found[row[key]] = (geometry, row[task], row[note])
    assert "说明 notes" in book.sheetnames
    return found  # type: ignore[return-value]


# GeoJSON is read in every offered CRS; the other formats in one CRS of each kind (geographic, Web Mercator,
# 3-degree and 6-degree Gauss-Kruger, with and without the zone number): what a format does with a CRS
# depends on its kind, and the suite must stay under ten minutes (each file is a GDAL child process)
ONE_OF_EACH_KIND = {
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
    "http://www.opengis.net/def/crs/EPSG/0/4546",
    "http://www.opengis.net/def/crs/EPSG/0/4526",
    "http://www.opengis.net/def/crs/EPSG/0/4509",
    "http://www.opengis.net/def/crs/EPSG/0/4498",
}
CASES = [(fmt, uri) for fmt in FORMATS for uri in supported_uris() if fmt == "geojson" or uri in ONE_OF_EACH_KIND]


def test_the_sample_covers_every_kind_and_geojson_every_crs() -> None:
    assert set(supported_uris()) >= ONE_OF_EACH_KIND
    assert {uri for fmt, uri in CASES if fmt == "geojson"} == set(supported_uris())


@pytest.mark.parametrize(("fmt", "uri"), CASES)
def test_download_in_every_crs_lands_in_place(
    client: TestClient, download_rows: dict[str, Any], tmp_path: Path, fmt: str, uri: str
) -> None:
    if _refused(fmt, uri):
        response = client.get(f"/collections/projects/download.{fmt}", params={"plan_id": PLAN, "crs": uri})
        assert response.status_code == 400 and response.json()["parameter"] == "crs"
        assert uri in response.json()["detail"]
        return
    code = epsg_code(parse_crs(uri, "crs"))
    assert code is not None
    path, response = _download(client, tmp_path, fmt, uri)
    served = response.headers["Content-Crs"]
    assert served in (f"<{uri}>", "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
    if fmt == "xlsx":
        features: dict[str, Any] = _xlsx_features(path)
        said = code
    else:
        features, said = _features(path, fmt)
        if fmt == "csv":
            assert said is None  # CSV carries no CRS: it is served in WGS84 lon/lat only
            said = 4326
        assert said == code, f"{fmt} says EPSG:{said}, asked for {uri}"
    assert sorted(features) == sorted(download_rows)  # every feature
    for key, (_, task, expected) in download_rows.items():
        geometry, text = features[key][0], features[key][1]
        if expected is None:
            assert geometry is None or geometry.is_empty, (fmt, key)
        elif fmt == "xlsx" and key == "ogc-dl-big":
            assert geometry is None and "WKT" in features[key][2]  # over 32,767 characters: empty, and said
        else:
            assert same_place(to_crs84(geometry, said), expected), (fmt, uri, key)
        if fmt == "xlsx" and key == "ogc-dl-big":
            assert text is None and "task_text" in features[key][2]
        else:
            assert text == task, (fmt, key)  # every character, the rare ones included


def test_geojson_names_its_crs_and_keeps_xy(client: TestClient, download_rows: dict[str, Any]) -> None:
    document = client.get("/collections/projects/download.geojson", params={"plan_id": PLAN, "crs": "EPSG:4547"}).json()
    assert document["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}
    point = next(f for f in document["features"] if f["properties"]["key"] == "ogc-dl-point")
    easting, northing = point["geometry"]["coordinates"]
    assert 300_000 < easting < 700_000 and 2_000_000 < northing < 4_000_000  # x = east first
    assert "crs" not in point["geometry"]
    plain = client.get("/collections/projects/download.geojson", params={"plan_id": PLAN, "crs": "EPSG:4326"})
    assert "crs" not in plain.json()  # EPSG:4326 in a file is longitude first: RFC 7946 as it is
    assert plain.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


def _ogr2ogr(source: str) -> tuple[dict[str, Any], str]:
    crs_less = ["-s_srs", "EPSG:4326"] if source.endswith(".csv") else []  # a CSV is WGS84 lon/lat by contract
    done = subprocess.run(
        [str(DEBIAN_OGR2OGR), "-f", "GeoJSON", "/vsistdout/", source, *crs_less, "-t_srs", "EPSG:4326"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.mark.skipif(
    not DEBIAN_OGR2OGR.exists(), reason="Debian's GDAL 3.6 (/usr/bin/ogr2ogr, package gdal-bin) is not installed"
)
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip", "kml", "csv", "fgb"])
def test_gdal_36_reads_every_download_in_place_without_warnings(
    client: TestClient, download_rows: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    checked = 0
    for uri in (u for f, u in CASES if f == fmt):
        if _refused(fmt, uri):
            continue
        path, _ = _download(client, tmp_path, fmt, uri)
        sources = [str(path)]
        if fmt == "shp.zip":
            sources = [f"/vsizip/{path}/{n}" for n in zipfile.ZipFile(path).namelist() if n.endswith(".shp")]
        got: dict[str, list[Any]] = {}
        for source in sources:
            document, stderr = _ogr2ogr(source)
            assert "Warning" not in stderr and "ERROR" not in stderr, (fmt, uri, stderr)
            for feature in document["features"]:
                properties = feature["properties"]
                key = properties.get("key")
                got.setdefault(key, [])
                if feature["geometry"] is not None:
                    got[key].append(shapely.geometry.shape(feature["geometry"]))
        assert sorted(got) == sorted(download_rows), (fmt, uri)
        for key, (_, _, expected) in download_rows.items():
            geometry = shapely.geometrycollections(got[key]) if got[key] else None
            if expected is None:
                assert geometry is None or geometry.is_empty
            else:
                assert same_place(geometry, expected), (fmt, uri, key)
        checked += 1
    assert checked >= 1
    shutil.rmtree(tmp_path, ignore_errors=True)
