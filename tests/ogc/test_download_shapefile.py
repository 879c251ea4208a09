"""Zipped Shapefile: every part of a GeometryCollection, every character (the .dbf, or its sidecar when
the .dbf cannot hold it), UTF-8 or GBK with a .cpg saying which, and a README / header saying all of it
(issue #14 items 3 and 4)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.ogc.download_shapefile import DBF_TEXT_BYTES, dbf_names, fit_text
from tests.ogc.download_cases import LONG_TEXT, PLAN, RARE, inserted, same_place


@pytest.fixture(scope="module")
def download_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    with inserted(engine) as rows:
        yield rows


def _zip(client: TestClient, tmp_path: Path, **params: str) -> tuple[Path, Any]:
    response = client.get("/collections/projects/download.shp.zip", params={"plan_id": PLAN, **params})
    assert response.status_code == 200, response.text
    path = tmp_path / f"projects-{params.get('encoding', 'default')}.zip"
    path.write_bytes(response.content)
    return path, response


def _sidecar(archive: zipfile.ZipFile, layer: str) -> dict[int, dict[str, str]]:
    text = archive.read(f"{layer}_text.csv").decode("utf-8-sig")
    return {int(row["id"]): row for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize(("encoding", "codec", "cpg"), [(None, "utf-8", "UTF-8"), ("GBK", "gbk", "GBK")])
def test_every_character_is_in_the_dbf_or_its_sidecar(
    client: TestClient,
    download_rows: dict[str, Any],
    tmp_path: Path,
    encoding: str | None,
    codec: str,
    cpg: str,
) -> None:
    params = {"encoding": encoding} if encoding else {}
    path, response = _zip(client, tmp_path, **params)
    archive = zipfile.ZipFile(path)
    layers = ["projects_point", "projects_line", "projects_polygon"]
    for layer in layers:
        assert archive.read(f"{layer}.cpg").decode() == cpg
    by_id = {row_id: (key, task) for key, (row_id, task, _) in download_rows.items()}
    seen: dict[str, set[str]] = {}
    for layer in layers:
        frame = pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.shp")
        sidecar = _sidecar(archive, layer) if f"{layer}_text.csv" in archive.namelist() else {}
        for row in frame.itertuples():
            key, task = by_id[int(row.id)]
            seen.setdefault(layer, set()).add(key)
            assert len(row.task_text.encode(codec)) <= DBF_TEXT_BYTES
            if row.task_text != task:  # the .dbf could not hold it: the sidecar has every character
                assert row.task_text == fit_text(task, codec)
                assert sidecar[int(row.id)]["task_text"] == task
            else:
                assert int(row.id) not in sidecar or sidecar[int(row.id)]["task_text"] == ""
    # a GeometryCollection's parts are in the layers of their families; a feature without one rides with points
    assert seen["projects_point"] == {"ogc-dl-point", "ogc-dl-collection", "ogc-dl-none"}
    assert seen["projects_line"] == {"ogc-dl-collection"}
    assert seen["projects_polygon"] == {"ogc-dl-collection", "ogc-dl-big"}
    parts = [
        pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.shp", where="key = 'ogc-dl-collection'").geometry[0]
        for layer in layers
    ]
    assert same_place(shapely.geometrycollections(parts), download_rows["ogc-dl-collection"][2])
    readme = archive.read("README.txt").decode("utf-8")
    assert f"encoding of the .dbf files: {cpg}" in readme
    assert "responsible_units -> responsibl" in readme and "location_status -> location_s" in readme
    assert "projects_polygon.dbf -> projects_polygon_text.csv" in readme
    notes = response.headers["X-Xiangmap-Notes"]
    assert notes.isascii() and "task_text" in notes and "README.txt" in notes


def test_gbk_dbf_is_gbk_and_rare_characters_are_kept_in_the_sidecar(
    client: TestClient, download_rows: dict[str, Any], tmp_path: Path
) -> None:
    path, _ = _zip(client, tmp_path, encoding="gbk")  # case-insensitive
    archive = zipfile.ZipFile(path)
    assert "株冶路提质改造".encode("gbk") in archive.read("projects_point.dbf")  # the bytes really are GBK
    collection_id = download_rows["ogc-dl-collection"][0]
    short = _sidecar(archive, "projects_point")[collection_id]["task_text"]
    assert short.endswith(RARE)  # GBK has no 𬌗 / 䶮: '?' in the .dbf, whole in the sidecar
    big_id = download_rows["ogc-dl-big"][0]
    assert _sidecar(archive, "projects_polygon")[big_id]["task_text"] == LONG_TEXT


def test_utf8_dbf_keeps_rare_characters(client: TestClient, download_rows: dict[str, Any], tmp_path: Path) -> None:
    path, _ = _zip(client, tmp_path, encoding="UTF-8")
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/projects_line.shp")
    assert frame.task_text[0] == "霞湾港、清水湖片区综合治理" + RARE


def test_bad_encoding_is_a_400_naming_it(client: TestClient, download_rows: dict[str, Any]) -> None:
    bad = client.get("/collections/projects/download.shp.zip", params={"encoding": "latin1"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "encoding"
    assert "UTF-8 or GBK" in bad.json()["detail"]
    other = client.get("/collections/projects/download.gpkg", params={"encoding": "GBK"})
    assert other.status_code == 400 and other.json()["parameter"] == "encoding"
    twice = client.get("/collections/projects/download.shp.zip?encoding=GBK&encoding=UTF-8")
    assert twice.status_code == 400 and twice.json()["parameter"] == "encoding"


def test_dbf_names_are_predictable() -> None:
    assert dbf_names(["responsible_units", "responsible_x", "Responsibl", "name"]) == [
        "responsibl",
        "responsi_1",
        "Responsi_2",
        "name",
    ]
    assert dbf_names(["ID"]) == ["ID_1"]  # id is taken by the feature id


def test_fit_text_cuts_on_a_character_boundary() -> None:
    text = "株" * 100  # 300 bytes in UTF-8, 200 in GBK
    assert fit_text(text, "gbk") == text
    cut = fit_text(text, "utf-8")
    assert cut == "株" * 84 and len(cut.encode()) == 252
    assert fit_text("清" + RARE, "gbk") == "清??"
