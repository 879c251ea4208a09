"""Format confusion: an upload is opened only by the GDAL driver its name calls for.

An OGR VRT document names other files (``CSV:/path/to/secret``) or URLs (``/vsicurl/http://...``)
for GDAL to open; uploaded under any accepted name it would load a local file into a public layer,
or make the server fetch a URL of the uploader's choosing.  Each such file must be refused with
``fault: format_mismatch`` before GDAL opens it, the layer unchanged, no byte of the secret anywhere,
and the URL never requested (a tiny HTTP server in its own process records every request).
"""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point
from sqlalchemy import Engine, text

SECRET = "xm-secret-8c1f3a"  # what the secret file holds (a stand-in for .data/cluster.json's password)
PREFIX = "格式测试"
LAYER_SUFFIXES = (".geojson", ".json", ".kml", ".gml", ".gpkg", ".fgb", ".csv", ".shp")
SCREENING_SUFFIXES = (".geojson", ".json", ".kml", ".gpkg", ".shp")


@pytest.fixture(scope="module")
def secret_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.csv"
    path.write_text(f"name,password,WKT\n{SECRET},{SECRET}-pw,POINT (113.15 27.84)\n", encoding="utf-8")
    return path


def vrt(source: str) -> bytes:
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="sites">'
        f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>secret</SrcLayer>"
        '<GeometryField encoding="WKT" field="WKT"/><LayerSRS>EPSG:4326</LayerSRS>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def layer_state(engine: Engine, layer: str) -> tuple[int, str]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(key || md5(ST_AsBinary(geom)) || "
                    f"coalesce(name, ''), ',' ORDER BY key), '')) FROM {layer}"
                )
            ).one()
        )  # type: ignore[return-value]


def secret_stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM sites s WHERE CAST(row_to_json(s) AS text) LIKE :p"), {"p": f"%{SECRET}%"}
            ).scalar_one()
        )


def zipped(name: str, member: str, data: bytes) -> tuple[str, bytes]:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, data)
    return name, buffer.getvalue()


def _assert_mismatch(response, name: str) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["fault"] == "format_mismatch", body
    assert name in body["detail"]
    assert SECRET not in response.text


@pytest.mark.parametrize("suffix", LAYER_SUFFIXES)
def test_a_vrt_under_any_layer_name_is_refused(client, auth, engine: Engine, secret_csv: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    before = layer_state(engine, "sites")
    name = f"sites{suffix}"
    response = client.post(
        "/layers/sites/uploads", files={"file": (name, vrt(f"CSV:{secret_csv}"))}, headers=auth["editor"]
    )
    _assert_mismatch(response, name)
    assert layer_state(engine, "sites") == before and secret_stored(engine) == 0


@pytest.mark.parametrize(("archive", "member"), [("sites.zip", "sites.geojson"), ("sites.zip", "sites.shp"),
                                                 ("sites.zip", "doc.kml"), ("sites.zip", "sites.gpkg")])  # fmt: skip
def test_a_vrt_inside_an_archive_is_refused(
    client, auth, engine: Engine, secret_csv: Path, archive: str, member: str
) -> None:  # type: ignore[no-untyped-def]
    before = layer_state(engine, "sites")
    files = {"file": zipped(archive, member, vrt(str(secret_csv)))}
    if member.endswith(".shp"):  # with its sidecars, so only the content can give it away
        files = {"file": _zip_many(archive, {member: vrt(str(secret_csv)), "sites.shx": b"", "sites.dbf": b""})}
    response = client.post("/layers/sites/uploads", files=files, headers=auth["editor"])
    _assert_mismatch(response, archive)
    assert layer_state(engine, "sites") == before and secret_stored(engine) == 0


def _zip_many(name: str, members: dict[str, bytes]) -> tuple[str, bytes]:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return name, buffer.getvalue()


@pytest.mark.parametrize("suffix", SCREENING_SUFFIXES)
def test_a_vrt_is_refused_by_screening(client, auth, secret_csv: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    name = f"site{suffix}"
    response = client.post("/screening", files={"file": (name, vrt(f"CSV:{secret_csv}"))}, headers=auth["inspector"])
    _assert_mismatch(response, name)
    inside = client.post(
        "/screening",
        files={"file": zipped("site.zip", "site.geojson", vrt(str(secret_csv)))},
        headers=auth["inspector"],
    )
    _assert_mismatch(inside, "site.zip")
    kmz = client.post(
        "/screening", files={"file": zipped("site.kmz", "doc.kml", vrt(str(secret_csv)))}, headers=auth["inspector"]
    )
    _assert_mismatch(kmz, "site.kmz")


RECORDER = """
import http.server, sys
log = open(sys.argv[1], "a", buffering=1)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.command + " " + self.path + "\\n"); self.send_response(404); self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server in its own process; every request it gets is written to the log."""
    log = tmp_path / "requests.log"
    log.touch()
    process = subprocess.Popen([sys.executable, "-c", RECORDER, str(log)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_vsicurl_vrt_never_reaches_the_network(client, auth, engine: Engine, recorder: tuple[str, Path]) -> None:  # type: ignore[no-untyped-def]
    url, log = recorder
    hostile = vrt(f"/vsicurl/{url}/sites.csv")
    before = layer_state(engine, "sites")
    for suffix in (".geojson", ".csv", ".gml"):
        response = client.post(
            "/layers/sites/uploads", files={"file": (f"sites{suffix}", hostile)}, headers=auth["editor"]
        )
        _assert_mismatch(response, f"sites{suffix}")
    response = client.post("/screening", files={"file": ("site.kml", hostile)}, headers=auth["inspector"])
    _assert_mismatch(response, "site.kml")
    time.sleep(0.2)
    assert log.read_text() == "", "the server fetched the uploader's URL"
    assert layer_state(engine, "sites") == before


def test_gdal_in_the_server_has_no_vrt_driver_and_no_vsicurl(tmp_path: Path, recorder: tuple[str, Path]) -> None:
    """Defence in depth behind the content checks: what GDAL itself would do with such a file."""
    from service.common.upload_safety import harden_gdal

    harden_gdal()
    assert "OGR_VRT" not in pyogrio.list_drivers() and "VRT" not in pyogrio.list_drivers()
    url, log = recorder
    with pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_info(f"/vsicurl/{url}/direct.geojson")
    assert log.read_text() == ""


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sites WHERE name LIKE :p"), {"p": f"{PREFIX}%"})


LEGIT = {
    ".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".gml": "GML", ".gpkg": "GPKG",
    ".fgb": "FlatGeobuf", ".csv": "CSV",
}  # fmt: skip


def test_real_files_of_every_format_still_load(client, auth, engine: Engine, tmp_path: Path, cleanup: None) -> None:  # type: ignore[no-untyped-def]
    for i, (suffix, driver) in enumerate(LEGIT.items()):
        frame = gpd.GeoDataFrame({"name": [f"{PREFIX}{suffix}"]}, geometry=[Point(113.10 + i / 100, 27.80)], crs=4326)
        path = tmp_path / f"sites{suffix}"
        options = {"GEOMETRY": "AS_WKT"} if suffix == ".csv" else {}
        pyogrio.write_dataframe(frame, path, driver=driver, **options)
        data = path.read_bytes()
        if suffix == ".csv":
            data = data.replace(b"name", b"WKT,name", 1) if b"WKT" not in data else data
        response = client.post(
            "/layers/sites/uploads", files={"file": (path.name, data)}, headers=auth["editor"],
            data={"crs": "EPSG:4326"} if suffix == ".csv" else {},
        )  # fmt: skip
        assert response.status_code == 201, (suffix, response.text)
        assert response.json()["rows"] == 1
    shp = tmp_path / "shp"
    shp.mkdir()
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"name": [f"{PREFIX}shp"]}, geometry=[Point(113.2, 27.8)], crs=4326), shp / "sites.shp"
    )
    archive = _zip_many("sites.zip", {p.name: p.read_bytes() for p in shp.iterdir()})
    assert client.post("/layers/sites/uploads", files={"file": archive}, headers=auth["editor"]).status_code == 201
    with engine.connect() as conn:
        names = list(conn.execute(text("SELECT name FROM sites WHERE name LIKE :p"), {"p": f"{PREFIX}%"}).scalars())
        count = len(names)
    assert count == len(LEGIT) + 1, ", ".join(names)
