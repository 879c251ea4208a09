"""POST /layers/{id}/uploads for editors, and GET /layers: real HTTP through the app, real files."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine, text

PREFIX = "上传测试"


def gbk_shapefile_zip(folder: Path, crs: int | None = 4326) -> bytes:
    frame = gpd.GeoDataFrame(
        {"名称": [f"{PREFIX}甲路", f"{PREFIX}乙路"], "等级": ["主干路", "支路"]},
        geometry=[LineString([(113.10, 27.86), (113.12, 27.87)]), LineString([(113.13, 27.85), (113.14, 27.86)])],
        crs=crs,
    )
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "roads.shp", encoding="GBK")
    archive = folder / "roads.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in folder.glob("roads.*"):
            if part.suffix != ".zip":
                out.write(part, part.name)
    return archive.read_bytes()


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM roads WHERE name LIKE :p"), {"p": f"{PREFIX}%"})


def test_catalogue_lists_every_layer_with_counts(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/layers")
    assert response.status_code == 200
    layers = {entry["id"]: entry for entry in response.json()["layers"]}
    assert set(layers) == {"districts", "roads", "streams", "sewage_plants", "green_heart", "qingshuitang",
                           "demo_zones", "sites"}  # fmt: skip
    assert layers["districts"]["features"] == 23
    assert layers["green_heart"]["protected"] is True
    assert layers["districts"]["last_load"]["kind"] == "bundled"
    x0, y0, x1, y1 = layers["districts"]["bbox"]
    assert 111 < x0 < x1 < 115 and 25 < y0 < y1 < 29


def test_one_layer_with_its_loads(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/layers/green_heart").json()
    assert body["features"] == 5 and body["loads"][0]["file_name"] == "geodata/layers/green_heart.geojson"
    missing = client.get("/layers/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_upload_needs_an_editor(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("roads.zip", gbk_shapefile_zip(tmp_path), "application/zip")}
    assert client.post("/layers/roads/uploads", files=files).status_code == 401
    assert client.post("/layers/roads/uploads", files=files, headers=auth["viewer"]).status_code == 403


def test_editor_uploads_a_gbk_shapefile(client, auth, engine: Engine, tmp_path: Path, cleanup: None) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("道路.zip", gbk_shapefile_zip(tmp_path), "application/zip")}
    data = {"source": "株洲市测绘院 2024", "mapping": '{"等级": "road_class"}'}
    response = client.post("/layers/roads/uploads", files=files, data=data, headers=auth["editor"])
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["inserted"], report["rows"], report["file_name"]) == (2, 2, "道路.zip")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT road_class, source FROM roads WHERE name = :n"), {"n": f"{PREFIX}乙路"}).one()
        audit = conn.execute(
            text("SELECT actor FROM audit_log WHERE entity = 'layer:roads' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert tuple(row) == ("支路", "株洲市测绘院 2024")
    assert audit == "test-editor"


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_upload_without_crs_is_a_clear_400(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("roads.zip", gbk_shapefile_zip(tmp_path, crs=None), "application/zip")}
    response = client.post("/layers/roads/uploads", files=files, headers=auth["editor"])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == "crs" and "no coordinate reference system" in response.json()["detail"]


def test_failing_upload_names_the_row_and_changes_nothing(client, auth, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    geojson = (
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"name":"' + PREFIX + '一"},'
        '"geometry":{"type":"LineString","coordinates":[[113.1,27.86],[113.12,27.87]]}},'
        '{"type":"Feature","properties":{"name":"' + PREFIX + '二"},'
        '"geometry":{"type":"Point","coordinates":[113.1,27.86]}}]}'
    )
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM roads")).scalar_one()
    response = client.post(
        "/layers/roads/uploads",
        files={"file": ("roads.geojson", geojson.encode(), "application/geo+json")},
        data={"replace": "true"},
        headers=auth["editor"],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["row"] == 2 and "Point" in body["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roads")).scalar_one() == before


def test_bad_requests(client, auth) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("a.geojson", b"{}", "application/geo+json")}
    assert client.post("/layers/nope/uploads", files=files, headers=auth["editor"]).status_code == 404
    bad_mapping = client.post("/layers/roads/uploads", files=files, data={"mapping": "{x"}, headers=auth["editor"])
    assert bad_mapping.status_code == 400 and bad_mapping.json()["parameter"] == "mapping"
    text_file = {"file": ("notes.txt", b"hello", "text/plain")}
    assert client.post("/layers/roads/uploads", files=text_file, headers=auth["editor"]).status_code == 415
    bad_crs = client.post("/layers/roads/uploads", files=files, data={"crs": "EPSG:999999"}, headers=auth["editor"])
    assert bad_crs.status_code == 400 and bad_crs.json()["parameter"] == "crs"
