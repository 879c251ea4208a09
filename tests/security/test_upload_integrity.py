"""What an upload may change: the right CRS, readable text, bounded memory, no server paths, confirmed
removals, and protected zones only by the gis role or an admin."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app as cli
from service.settings import PROJECT_ROOT
from tests.security.test_upload_formats import layer_state, vrt

PREFIX = "完整性测试"


def shapefile_zip(folder: Path, frame: gpd.GeoDataFrame, *, encoding: str = "UTF-8", cpg: bool = True) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "sites.shp", encoding=encoding)
    if not cpg:
        (folder / "sites.cpg").unlink()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.glob("sites.*"):
            archive.write(part, part.name)
    return buffer.getvalue()


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        for layer in ("sites", "green_heart"):
            conn.execute(text(f"DELETE FROM {layer} WHERE name LIKE :p"), {"p": f"{PREFIX}%"})


def existing_sites(engine: Engine, n: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT key, name FROM sites ORDER BY key LIMIT :n"), {"n": n})]  # type: ignore[misc]


# ---------------------------------------------------------------- 2. a .prj that lies


def test_degrees_declared_as_epsg_4547_are_refused(client, auth, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = existing_sites(engine, 2)
    frame = gpd.GeoDataFrame(
        {"key": [k for k, _ in keys], "name": [n for _, n in keys]},
        geometry=[Point(113.13, 27.83), Point(113.15, 27.85)],
        crs=4547,  # the .prj says CGCS2000 metres; the numbers are degrees
    )
    before = layer_state(engine, "sites")
    response = client.post(
        "/layers/sites/uploads", files={"file": ("moved.zip", shapefile_zip(tmp_path, frame))}, headers=auth["editor"]
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["fault"] == "outside_crs_area" and body["parameter"] == "crs"
    assert "moved.zip" in body["detail"] and "EPSG:4547" in body["detail"] and "113.13" in body["detail"]
    assert "pass crs" in body["detail"] and body["bounds"][0] == pytest.approx(113.13)
    assert layer_state(engine, "sites") == before


def test_a_lying_prj_is_refused_by_screening(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(113.13, 27.83).buffer(0.01)], crs=32650)  # UTM 50N
    response = client.post(
        "/screening", files={"file": ("site.zip", shapefile_zip(tmp_path, frame))}, headers=auth["inspector"]
    )
    assert response.status_code == 422, response.text
    assert response.json()["fault"] == "outside_crs_area" and "EPSG:32650" in response.json()["detail"]


def test_data_outside_china_is_refused_and_far_from_hunan_is_said(client, auth, engine: Engine, cleanup: None) -> None:  # type: ignore[no-untyped-def]
    paris = gpd.GeoDataFrame({"name": [f"{PREFIX}巴黎"]}, geometry=[Point(2.35, 48.85)], crs=4326).to_json()
    response = client.post(
        "/layers/sites/uploads", files={"file": ("p.geojson", paris.encode())}, headers=auth["editor"]
    )
    assert response.status_code == 422 and response.json()["fault"] == "outside_service_area", response.text
    beijing = gpd.GeoDataFrame({"name": [f"{PREFIX}北京"]}, geometry=[Point(116.40, 39.90)], crs=4326).to_json()
    response = client.post(
        "/layers/sites/uploads", files={"file": ("b.geojson", beijing.encode())}, headers=auth["editor"]
    )
    assert response.status_code == 201, response.text
    assert any("far from Hunan" in w for w in response.json()["warnings"])


# ---------------------------------------------------------------- 3. text encodings


def test_a_gbk_dbf_without_cpg_is_read_as_gbk(client, auth, engine: Engine, tmp_path: Path, cleanup: None) -> None:  # type: ignore[no-untyped-def]
    frame = gpd.GeoDataFrame({"名称": [f"{PREFIX}株洲湖"]}, geometry=[Point(113.12, 27.82)], crs=4326)
    data = shapefile_zip(tmp_path / "a", frame, encoding="GBK", cpg=False)
    response = client.post(
        "/layers/sites/uploads",
        files={"file": ("gbk.zip", data)},
        data={"mapping": '{"名称": "name"}'},
        headers=auth["editor"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["encoding"] == "GB18030"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sites WHERE name = :n"), {"n": f"{PREFIX}株洲湖"}).scalar() == 1
    screened = client.post("/screening", files={"file": ("gbk.zip", data)}, headers=auth["inspector"])
    assert screened.status_code == 201, screened.text


def test_undecodable_text_names_its_row_and_field(client, auth, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = gpd.GeoDataFrame(
        {"name": [f"{PREFIX}甲", "\x80\x81 bad"]}, geometry=[Point(113.12, 27.82), Point(113.13, 27.82)], crs=4326
    )
    data = shapefile_zip(tmp_path, frame, encoding="latin1", cpg=False)
    before = layer_state(engine, "sites")
    response = client.post("/layers/sites/uploads", files={"file": ("bad.zip", data)}, headers=auth["editor"])
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["fault"] == "undecodable_text" and body["row"] == 2 and body["field"] == "name"
    assert "row 2" in body["detail"] and "encoding" in body["detail"]
    assert layer_state(engine, "sites") == before
    forced = client.post(
        "/layers/sites/uploads", files={"file": ("bad.zip", data)}, data={"encoding": "latin1"}, headers=auth["editor"]
    )
    assert forced.status_code != 422 or forced.json().get("fault") != "undecodable_text"
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM sites WHERE name LIKE :p OR name = :b"), {"p": f"{PREFIX}%", "b": "\x80\x81 bad"}
        )


# ---------------------------------------------------------------- 4. memory before refusal

MEASURE = """
import resource, sys
from pathlib import Path
from service.layers.files import read_layer_file
from service.common.upload_safety import UploadLimits
from service.errors import Problem
path = Path(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_layer_file(path, "streams", limits=UploadLimits.from_settings())
    fault = "loaded"
except Problem as exc:
    fault = exc.extra.get("fault") or exc.detail[:60]
print(fault, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""


def test_a_huge_single_line_is_refused_before_gdal_builds_it(tmp_path: Path) -> None:
    path = tmp_path / "long.geojson"
    path.write_bytes(
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":'
        b'{"type":"LineString","coordinates":[' + b"[113,27]," * 1_899_999 + b"[113,27]]}}]}"
    )
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": "postgresql://unused/none"},
    )  # fmt: skip
    fault, grown = done.stdout.split()
    assert fault == "too_many_vertices", done.stdout + done.stderr
    assert float(grown) < 64, f"the refusal cost {grown} MB"


# ---------------------------------------------------------------- 5. no server path in any detail


def test_no_error_shows_a_server_path(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    square = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(113.1, 27.8)], crs=None)
    no_crs = shapefile_zip(tmp_path / "nocrs", square)
    partial = io.BytesIO()
    with zipfile.ZipFile(partial, "w") as archive:
        archive.writestr("a.shp", (9994).to_bytes(4, "big") + bytes(96))
    cases = [
        ("broken.geojson", b"{not json"),
        ("broken.kml", b"<kml><Placemark>"),
        ("broken.gml", b'<x xmlns:gml="http://www.opengis.net/gml"><gml:Point>'),
        ("broken.gpkg", b"SQLite format 3\x00" + bytes(52) + b"GPKG" + bytes(100)),
        ("broken.fgb", b"fgb\x03fgb\x00" + bytes(20)),
        ("broken.shp", (9994).to_bytes(4, "big") + bytes(96)),
        ("broken.csv", b"a,b\n1,2\n"),
        ("vrt.geojson", vrt("/etc/hostname")),
        ("nocrs.zip", no_crs),
        ("partial.zip", partial.getvalue()),
        ("bad.zip", b"PK\x03\x04 not really"),
    ]
    for name, data in cases:
        for url, who in (("/layers/sites/uploads", "editor"), ("/screening", "inspector")):
            if url == "/screening" and (name.endswith((".gml", ".fgb", ".csv")) or name == "nocrs.zip"):
                continue
            response = client.post(url, files={"file": (name, data)}, headers=auth[who])
            assert 400 <= response.status_code < 500, (name, url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "/tmp" not in response.text and "xiangmap-" not in response.text, (name, url, response.text)
            assert "xm-screen-" not in response.text, (name, url, response.text)


# ---------------------------------------------------------------- 6. replace asks first


def partial_sites() -> bytes:
    frame = gpd.GeoDataFrame({"name": [f"{PREFIX}仅此"]}, geometry=[Point(113.12, 27.82)], crs=4326)
    return frame.to_json().encode()


def test_a_removing_replace_answers_409_with_what_it_would_remove(client, auth, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    before = layer_state(engine, "sites")
    files = {"file": ("partial.geojson", partial_sites())}
    response = client.post("/layers/sites/uploads", files=files, data={"replace": "true"}, headers=auth["editor"])
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["fault"] == "confirm_remove" and body["would_remove"] == before[0]
    assert len(body["keys"]) == min(50, before[0]) and f"confirm_remove={before[0]}" in body["detail"]
    assert layer_state(engine, "sites") == before
    # the right number, but projects are located on sites: refused again, naming them
    data = {"replace": "true", "confirm_remove": str(before[0])}
    response = client.post("/layers/sites/uploads", files=files, data=data, headers=auth["editor"])
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["fault"] == "orphan_projects" and body["projects"] and "orphan_projects=true" in body["detail"]
    assert f"#{body['projects'][0]['id']}" in body["detail"]
    wrong = client.post(
        "/layers/sites/uploads", files=files, data={"replace": "true", "confirm_remove": "3"}, headers=auth["editor"]
    )
    assert wrong.status_code == 409 and wrong.json()["fault"] == "confirm_remove"
    assert layer_state(engine, "sites") == before


def test_the_cli_replace_needs_yes(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "partial.geojson"
    path.write_bytes(partial_sites())
    before = layer_state(engine, "sites")
    result = CliRunner().invoke(cli, ["layers", "load", "sites", str(path), "--replace"])
    assert result.exit_code == 2 and "--yes" in result.output, result.output
    result = CliRunner().invoke(cli, ["layers", "load", "sites", str(path), "--replace", "--yes"])
    assert result.exit_code == 2 and "--orphan-projects" in result.output, result.output
    assert layer_state(engine, "sites") == before


# ---------------------------------------------------------------- 7. protected zones


def green_heart_file() -> bytes:
    square = Polygon([(110.00, 25.00), (110.01, 25.00), (110.01, 25.01), (110.00, 25.01)])
    row = {"name": f"{PREFIX}区", "subzone": "核心保护区", "scheme": "2024", "valid_from": "2024-09-01"}
    return gpd.GeoDataFrame([row], geometry=[square], crs=4326).to_json().encode()


def test_only_gis_or_admin_change_protected_layers(client, auth, engine: Engine, cleanup: None) -> None:  # type: ignore[no-untyped-def]
    for layer in ("green_heart", "qingshuitang"):
        before = layer_state(engine, layer)
        files = {"file": ("zone.geojson", green_heart_file())}
        response = client.post(f"/layers/{layer}/uploads", files=files, headers=auth["editor"])
        assert response.status_code == 403, response.text
        body = response.json()
        assert body["fault"] == "protected_layer" and "gis" in body["detail"] and layer in body["detail"]
        assert layer_state(engine, layer) == before
    for role in ("gis", "admin"):
        response = client.post(
            "/layers/green_heart/uploads", files={"file": ("zone.geojson", green_heart_file())}, headers=auth[role]
        )
        assert response.status_code == 201, (role, response.text)
    line = gpd.GeoDataFrame(
        {"name": [f"{PREFIX}路"]}, geometry=[LineString([(113.1, 27.8), (113.11, 27.81)])], crs=4326
    )
    ok = client.post(
        "/layers/sites/uploads", files={"file": ("s.geojson", line.to_json().encode())}, headers=auth["editor"]
    )
    assert ok.status_code == 201, ok.text  # unprotected layers stay open to editors
