"""Multipart uploads: KML, zipped Shapefile (with its own .prj) and GeoPackage give the JSON answer."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.screening.conftest import ScreeningZones, metric_box


@pytest.fixture(scope="module")
def site() -> shapely.Geometry:
    return metric_box(2000, -1000, 5000, 1000)


def overlaps(answer: dict) -> dict[str, float]:
    return {z["zone_key"]: z["overlap_m2"] for e in answer["layers"] for z in e["zones"] if z["inside"]}


def upload(client, auth, name: str, data: bytes, **fields: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(
        "/screening", files={"file": (name, data)}, data={"date": "2018-06-01", **fields}, headers=auth["inspector"]
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_kml_shapefile_and_geopackage(client, auth, zones: ScreeningZones, site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    expected = overlaps(
        client.post(
            "/screening",
            json={"geometry": shapely.geometry.mapping(site), "date": "2018-06-01"},
            headers=auth["inspector"],
        ).json()
    )
    frame = gpd.GeoDataFrame({"name": ["场地"]}, geometry=[site], crs=4326)
    frame.to_file(tmp_path / "site.kml", driver="KML")
    frame.to_file(tmp_path / "site.gpkg")
    shp = tmp_path / "shp"
    shp.mkdir()
    frame.to_crs(4547).to_file(shp / "site.shp")  # the shapefile declares EPSG:4547 in its .prj
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, f"site/{part.name}")
    for name, data in (
        ("site.kml", (tmp_path / "site.kml").read_bytes()),
        ("site.gpkg", (tmp_path / "site.gpkg").read_bytes()),
        ("site.zip", zipped.getvalue()),
    ):
        got = upload(client, auth, name, data)
        assert got["input"]["source"] == f"upload:{name}"
        assert got.keys() >= {"verdict", "layers"} and set(overlaps(got)) == set(expected), name
        for key, area in expected.items():
            assert abs(overlaps(got)[key] - area) / area < 1e-3, (name, key)


def test_upload_faults(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/screening", files={"file": ("notes.txt", b"hello")}, headers=auth["inspector"])
    assert r.status_code == 415 and "unsupported type" in r.json()["detail"]
    r = client.post("/screening", files={"file": ("site.gpkg", b"not a geopackage")}, headers=auth["inspector"])
    assert r.status_code == 422 and "cannot be read" in r.json()["detail"]
    assert "/tmp" not in r.json()["detail"]  # no server paths in answers
    r = client.post("/screening", files={"file": ("site.zip", b"PK\x03\x04 broken")}, headers=auth["inspector"])
    assert r.status_code in (400, 422)
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.box(113.0, 27.9, 113.01, 27.91)], crs=4326)
    frame.to_file(tmp_path / "a.gpkg")
    r = client.post(
        "/screening",
        files={"file": ("a.gpkg", (tmp_path / "a.gpkg").read_bytes())},
        data={"crs": "EPSG:4547"},
        headers=auth["inspector"],
    )
    assert r.status_code == 422 and "declares EPSG:4326" in r.json()["detail"]


def test_form_fields_without_a_file(client, auth, zones: ScreeningZones, site) -> None:  # type: ignore[no-untyped-def]
    import json

    r = client.post(
        "/screening",
        data={"geometry": json.dumps(shapely.geometry.mapping(site)), "date": "2018-06-01", "buffer_m": "100"},
        headers=auth["inspector"],
    )
    assert r.status_code == 201, r.text
    assert r.json()["buffer_m"] == 100 and r.json()["verdict"] == "prohibited"
    r = client.post("/screening", data={"geometry": "{oops"}, headers=auth["inspector"])
    assert r.status_code == 400 and r.json()["parameter"] == "geometry"
