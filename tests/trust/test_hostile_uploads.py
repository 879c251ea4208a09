"""Hostile uploads: each refused with a clear 4xx, the server's memory bounded, no temporary file left.

The hostile files are made here: a real zip bomb deflated from a stream of zeros, a 2 GB declared body
sent over a raw socket and never finished, a GeoJSON of ten million vertices streamed in chunks, a
KML whose external entity points at /etc/passwd.  The end-to-end cases run against a uvicorn server
in its own process, so its peak memory (VmHWM, reset before each upload) is the server's alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import httpx
import pyogrio
import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import Engine, text

from service.common.upload_safety import (
    MB,
    UnsafeUpload,
    UploadLimits,
    check_geojson,
    check_shapefile_sidecars,
    check_xml,
    count_vertices,
    prepared,
    safe_extract,
)
from service.settings import PROJECT_ROOT

MEMORY_BOUND_MB = 64  # what a refused upload may add to the server's resident memory
TEN_MILLION = 10_000_000
PASSWD_MARK = "root:x:0:0"

# ---------------------------------------------------------------- the server in its own process


@dataclass
class Server:
    url: str
    pid: int
    tmp: Path  # the server's TMPDIR: must be empty after every upload
    editor: dict[str, str]

    def status_kb(self) -> dict[str, int]:
        lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmHWM", "VmRSS")}

    def peak_growth_mb(self, action: Callable[[], None]) -> float:
        """How far the server's peak resident memory rose above its resident memory while ``action`` ran."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
            before = self.status_kb()["VmRSS"]
        except OSError:  # kernels without peak reset: compare against the peak so far
            before = self.status_kb()["VmHWM"]
        action()
        return (self.status_kb()["VmHWM"] - before) / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn in a child process on the test database; uploads up to 100 MB so the vertex guard is reached."""
    tmp = tmp_path_factory.mktemp("server-tmp")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TMPDIR": str(tmp), "XIANGMAP_MAX_UPLOAD_MB": "100"}
    command = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--host", "127.0.0.1"]
    process = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=env, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the upload server did not start")
            time.sleep(0.2)
        running = Server(url, process.pid, tmp, {"Authorization": f"Bearer {tokens['editor']}"})
        _warm_up(running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=20)


def _warm_up(server: Server) -> None:
    """One ordinary refused upload first, so lazily imported code is not counted against the guards."""
    body = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": None}]}
    files = {"file": ("warm.geojson", json.dumps(body).encode(), "application/geo+json")}
    httpx.post(f"{server.url}/layers/sites/uploads", files=files, headers=server.editor, timeout=60)


@pytest.fixture
def clean_tmp(server: Server) -> Iterator[None]:
    yield
    assert sorted(p.name for p in server.tmp.iterdir()) == [], "an upload left temporary files behind"


def _assert_problem(response: httpx.Response, status: int, fault: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["fault"] == fault and body["parameter"] == "file"
    return body


def _sites_with(engine: Engine, fragment: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM sites WHERE name LIKE :f OR coalesce(source, '') LIKE :f"),
            {"f": f"%{fragment}%"},
        ).scalar_one()


# ---------------------------------------------------------------- hostile files, end to end


def test_zip_bomb_is_refused_without_inflating(server: Server, clean_tmp: None, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    zeros = bytes(MB)
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("sites.geojson", "w", force_zip64=True) as member,
    ):
        for _ in range(256):
            member.write(zeros)
    assert bomb.stat().st_size < MB  # 256 MB of zeros in a quarter of a megabyte

    def upload() -> None:
        with bomb.open("rb") as handle:
            files = {"file": ("bomb.zip", handle, "application/zip")}
            response = httpx.post(f"{server.url}/layers/sites/uploads", files=files, headers=server.editor, timeout=60)
        body = _assert_problem(response, 413, "zip_bomb")
        assert "sites.geojson" in str(body["detail"]) and "zip bomb" in str(body["detail"])

    assert server.peak_growth_mb(upload) < MEMORY_BOUND_MB


def test_two_gigabyte_declared_body_is_refused_before_it_arrives(server: Server, clean_tmp: None) -> None:
    """A raw socket declares 2 GB, sends 64 kB and waits: the answer is a 413 without reading the rest."""
    port = int(server.url.rsplit(":", 1)[1])
    head = (
        "POST /layers/sites/uploads HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: {server.editor['Authorization']}\r\n"
        "Content-Type: multipart/form-data; boundary=xiangmap\r\n"
        f"Content-Length: {2 * 1024**3}\r\n\r\n"
    ).encode()
    answer = b""

    def send() -> None:
        nonlocal answer
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(head + b"--xiangmap\r\n" + b"x" * 65536)
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                data = conn.recv(65536)
                if not data:
                    break
                answer += data

    assert server.peak_growth_mb(send) < MEMORY_BOUND_MB
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in headers.lower()
    assert json.loads(body)["status"] == 413


def _multipart_stream(boundary: str, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/geo+json\r\n\r\n"
    ).encode()
    yield from chunks
    yield f"\r\n--{boundary}--\r\n".encode()


def _ten_million_vertex_line() -> Iterator[bytes]:
    """One LineString feature of 10 000 000 positions, about 90 MB, produced a megabyte at a time."""
    yield b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"long"},'
    yield b'"geometry":{"type":"LineString","coordinates":['
    block = b"[113,27]," * 100_000
    for _ in range(TEN_MILLION // 100_000 - 1):
        yield block
    yield block[:-1] + b"]}}]}"


def test_ten_million_vertices_are_refused_while_reading(server: Server, clean_tmp: None) -> None:
    boundary = "xiangmap-vertices"
    headers = {**server.editor, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    stream = _multipart_stream(boundary, "long.geojson", _ten_million_vertex_line())

    def upload() -> None:
        url = f"{server.url}/layers/streams/uploads"
        response = httpx.post(url, content=stream, headers=headers, timeout=120)
        body = _assert_problem(response, 413, "too_many_vertices")
        # one line: the per-geometry limit (MAX_GEOMETRY_VERTICES) stops it before the file limit
        assert "long.geojson" in str(body["detail"]) and "100000 vertices" in str(body["detail"])

    assert server.peak_growth_mb(upload) < MEMORY_BOUND_MB


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE kml [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;]>',
        '<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY xxe "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    ],
    ids=["external-entity", "parameter-entity", "billion-laughs"],
)
def test_kml_with_entities_is_refused_and_passwd_never_appears(
    server: Server, clean_tmp: None, engine: Engine, doctype: str
) -> None:
    assert PASSWD_MARK in Path("/etc/passwd").read_text()  # the secret the attacker is after exists
    kml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&xxe;</name>'
        "<description>&xxe;</description><Point><coordinates>113.1,27.8,0</coordinates></Point>"
        "</Placemark></Document></kml>"
    )
    files = {"file": ("evil.kml", kml.encode(), "application/vnd.google-earth.kml+xml")}
    data = {"source": "hostile-kml"}
    response = httpx.post(
        f"{server.url}/layers/sites/uploads", files=files, data=data, headers=server.editor, timeout=60
    )
    body = _assert_problem(response, 400, "xml_entities")
    assert "evil.kml" in str(body["detail"])
    assert PASSWD_MARK not in response.text
    assert _sites_with(engine, PASSWD_MARK) == 0 and _sites_with(engine, "hostile-kml") == 0


def _zipped_shapefile(folder: Path, leave_out: str) -> bytes:
    frame = gpd.GeoDataFrame({"name": ["缺索引"]}, geometry=[Point(113.1, 27.8)], crs=4326)
    folder.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "sites.shp", encoding="UTF-8")
    archive = folder / "sites.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in sorted(folder.glob("sites.*")):
            if part.suffix not in (".zip", leave_out):
                out.write(part, part.name)
    return archive.read_bytes()


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_shapefile_without_its_sidecar_is_refused(
    server: Server, clean_tmp: None, tmp_path: Path, missing: str
) -> None:
    files = {"file": ("sites.zip", _zipped_shapefile(tmp_path, missing), "application/zip")}
    response = httpx.post(f"{server.url}/layers/sites/uploads", files=files, headers=server.editor, timeout=60)
    body = _assert_problem(response, 422, "missing_sidecar")
    assert f"without its {missing}" in str(body["detail"]) and "sites.shp" in str(body["detail"])


def test_zip_with_a_path_outside_the_archive_is_refused(server: Server, clean_tmp: None, tmp_path: Path) -> None:
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("../../escaped.geojson", '{"type":"FeatureCollection","features":[]}')
    files = {"file": ("slip.zip", archive.read_bytes(), "application/zip")}
    response = httpx.post(f"{server.url}/layers/sites/uploads", files=files, headers=server.editor, timeout=60)
    body = _assert_problem(response, 400, "unsafe_path")
    assert "../../escaped.geojson" in str(body["detail"])
    assert not any(server.tmp.parent.rglob("escaped.geojson"))


def test_binary_file_over_the_vertex_limit_is_refused(client, auth, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """GeoPackages are counted feature batch by feature batch (GDAL reads them row by row)."""
    from service.settings import get_settings

    frame = gpd.GeoDataFrame(
        {"name": [f"折线{i}" for i in range(50)]},
        geometry=[LineString([(113 + j * 1e-4, 27.8 + i * 1e-3) for j in range(100)]) for i in range(50)],
        crs=4326,
    )
    path = tmp_path / "lines.gpkg"
    pyogrio.write_dataframe(frame, path)
    monkeypatch.setenv("XIANGMAP_MAX_FILE_VERTICES", "1000")
    get_settings.cache_clear()
    try:
        files = {"file": ("lines.gpkg", path.read_bytes(), "application/geopackage+sqlite3")}
        response = client.post("/layers/streams/uploads", files=files, headers=auth["editor"])
    finally:
        monkeypatch.delenv("XIANGMAP_MAX_FILE_VERTICES")
        get_settings.cache_clear()
    assert response.status_code == 413, response.text
    assert response.json()["fault"] == "too_many_vertices" and "1000 vertices" in response.json()["detail"]


# ---------------------------------------------------------------- the guards one by one, with small limits

SMALL = UploadLimits(max_file_bytes=MB, max_unzipped_bytes=4 * MB, max_members=5, max_ratio=50, max_vertices=100)


def _fault(call: Callable[[], object]) -> UnsafeUpload:
    with pytest.raises(UnsafeUpload) as refused:
        call()
    return refused.value


def test_archive_guards(tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as out:
        for i in range(6):
            out.writestr(f"part{i}.geojson", "{}")
    assert _fault(lambda: safe_extract(many, tmp_path / "x", "many.zip", SMALL)).extra["fault"] == "too_many_members"

    big = tmp_path / "big.zip"  # not compressible enough to be a bomb, but too big unpacked
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as out:
        out.writestr("a.bin", os.urandom(3 * MB))
        out.writestr("b.bin", os.urandom(3 * MB))
    refused = _fault(lambda: safe_extract(big, tmp_path / "y", "big.zip", SMALL))
    assert refused.status == 413 and refused.extra["fault"] == "too_large_unzipped"

    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    assert _fault(lambda: safe_extract(fake, tmp_path / "z", "fake.zip", SMALL)).extra["fault"] == "bad_archive"


def _patch_declared_size(path: Path, size: int) -> None:
    """Rewrite the uncompressed size a zip's headers declare (a lying archive)."""
    data = bytearray(path.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = size.to_bytes(4, "little")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_a_lying_archive_is_cut_off_at_its_declared_size(tmp_path: Path) -> None:
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("sites.geojson", b" " * (3 * MB))
    _patch_declared_size(liar, 1000)  # says 1000 bytes, inflates to 3 MB
    refused = _fault(lambda: safe_extract(liar, tmp_path / "out", "liar.zip", SMALL))
    assert refused.status in (413, 422) and refused.extra["fault"] in ("zip_bomb", "bad_archive")
    written = list((tmp_path / "out").rglob("*"))
    assert sum(p.stat().st_size for p in written if p.is_file()) <= 1000

    declared = tmp_path / "declared.zip"  # the other lie: a tiny member that declares 2 GB
    with zipfile.ZipFile(declared, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("sites.geojson", b"{}")
    _patch_declared_size(declared, 2 * 1024**3)
    refused = _fault(lambda: safe_extract(declared, tmp_path / "out2", "declared.zip", SMALL))
    assert refused.status == 413 and refused.extra["fault"] in ("zip_bomb", "too_large_unzipped")


def test_prepared_removes_its_folder_even_when_refusing(tmp_path: Path) -> None:
    import tempfile

    archive = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("roads.geojson", '{"type":"LineString","coordinates":[' + "[1, 2]," * 200 + "[1, 2]]}")
    before = set(Path(tempfile.gettempdir()).glob("xiangmap-unzip-*"))
    refused = _fault(lambda: prepared(archive, "roads.zip", SMALL).__enter__())
    assert refused.extra["fault"] == "too_many_vertices"
    assert set(Path(tempfile.gettempdir()).glob("xiangmap-unzip-*")) == before
    with prepared(archive, "roads.zip", UploadLimits.local()) as dataset:
        assert dataset.name == "roads.geojson" and dataset.exists()
    assert not dataset.exists()


def test_geojson_positions_are_counted_across_chunk_boundaries(tmp_path: Path) -> None:
    from service.common import upload_safety

    path = tmp_path / "edge.geojson"
    # whitespace puts a '[' at the very end of the first 1 MB chunk, its number at the start of the next
    head = b'{"type":"MultiPoint","coordinates":['
    filler = b" " * (upload_safety.CHUNK - len(head) - 1)
    path.write_bytes(head + filler + b"[" + b"  113.1, 27.8]," + b"[1,2]," * 99 + b"[1,2]]}")
    assert check_geojson(path, "edge.geojson", UploadLimits.local()) == 101
    assert _fault(lambda: check_geojson(path, "edge.geojson", SMALL)).extra["fault"] == "too_many_vertices"


def test_kml_and_gml_coordinates_are_counted(tmp_path: Path) -> None:
    kml = tmp_path / "line.kml"
    tuples = " ".join(f"113.{i},27.8,0" for i in range(60))
    kml.write_text(
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><LineString><coordinates>\n {tuples}\n</coordinates></LineString></Placemark>"
        f"<Placemark><LineString><coordinates>{tuples}</coordinates></LineString></Placemark></Document></kml>"
    )
    assert check_xml(kml, "line.kml", UploadLimits.local()) == 120
    assert _fault(lambda: check_xml(kml, "line.kml", SMALL)).extra["fault"] == "too_many_vertices"
    gml = tmp_path / "line.gml"
    numbers = " ".join("113.1 27.8" for _ in range(40))
    gml.write_text(
        '<gml:LineString xmlns:gml="http://www.opengis.net/gml/3.2" srsDimension="2">'
        f"<gml:posList>{numbers}</gml:posList></gml:LineString>"
    )
    assert check_xml(gml, "line.gml", UploadLimits.local()) == 40
    broken = tmp_path / "broken.kml"
    broken.write_text("<kml><Placemark></kml>")
    assert _fault(lambda: check_xml(broken, "broken.kml", SMALL)).extra["fault"] == "bad_xml"


def test_vertex_count_of_a_binary_format_stops_at_the_limit(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[LineString([(0, i), (1, i), (2, i)]) for i in range(2)], crs=4326
    )
    pyogrio.write_dataframe(frame, tmp_path / "two.gpkg")
    assert count_vertices(str(tmp_path / "two.gpkg"), None, "two.gpkg", UploadLimits.local()) == 6
    tight = UploadLimits(MB, MB, 5, 50, 5)
    assert _fault(lambda: count_vertices(str(tmp_path / "two.gpkg"), None, "two.gpkg", tight)).status == 413


def test_sidecar_check_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "roads.shp").write_bytes(b"")
    (tmp_path / "roads.shx").write_bytes(b"")
    refused = _fault(lambda: check_shapefile_sidecars(tmp_path / "roads.shp", "roads.zip"))
    assert ".dbf" in refused.detail and "attribute table" in refused.detail
    (tmp_path / "roads.dbf").write_bytes(b"")
    check_shapefile_sidecars(tmp_path / "roads.shp", "roads.zip")


def test_files_without_geometry_are_a_4xx_not_a_500(client, auth) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("names.csv", "name,x\n甲,1\n".encode(), "text/csv")}
    response = client.post("/layers/sites/uploads", files=files, headers=auth["editor"])
    assert response.status_code == 422, response.text
    assert "names.csv has no geometry column" in response.json()["detail"]
    fake = {"file": ("fake.gpkg", b"not a geopackage at all", "application/geopackage+sqlite3")}
    response = client.post("/layers/sites/uploads", files=fake, headers=auth["editor"])
    assert response.status_code == 422 and "fake.gpkg" in response.json()["detail"]


def test_screening_uploads_go_through_the_same_guards(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """POST /screening takes files too: a zip bomb and a KML with an external entity are refused there as well."""
    bomb = tmp_path / "site.zip"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("site.geojson", "w", force_zip64=True) as member,
    ):
        for _ in range(64):
            member.write(bytes(MB))
    r = client.post("/screening", files={"file": ("site.zip", bomb.read_bytes())}, headers=auth["inspector"])
    assert r.status_code == 413 and r.json()["fault"] == "zip_bomb", r.text

    kml = (
        '<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name>'
        "<Point><coordinates>113.1,27.8,0</coordinates></Point></Placemark></kml>"
    )
    r = client.post("/screening", files={"file": ("site.kml", kml.encode())}, headers=auth["inspector"])
    assert r.status_code == 400 and r.json()["fault"] == "xml_entities", r.text
    assert PASSWD_MARK not in r.text
