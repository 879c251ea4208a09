"""/openapi.json (issue 14 item 6): a valid OpenAPI 3.0 document, as the oas30 conformance class promises,
describing every query parameter the OGC routes read, with one items path per collection so that GDAL's
OAPIF driver pushes ``-where`` and ``-spat`` down to the server."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from service.ogc.registry import collections

ITEMS = "/collections/{collectionId}/items"
STANDARD_ITEMS = {
    "limit", "offset", "bbox", "bbox-crs", "datetime", "properties", "sortby", "filter", "filter-lang",
    "filter-crs", "crs", "f",
}  # fmt: skip


@pytest.fixture(scope="module")
def api(client: TestClient) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _names(operation: dict) -> set[str]:
    return {p["name"] for p in operation["parameters"] if p["in"] == "query"}


def test_the_document_is_valid_openapi_3_0(api: dict) -> None:
    assert api["openapi"] == "3.0.3"
    validate(api)  # openapi-spec-validator picks the 3.0 schema from the openapi member
    text = json.dumps(api)
    assert '"type": "null"' not in text and '"const"' not in text


def test_conformance_claims_oas30_only_because_it_is_served(client: TestClient, api: dict) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in classes
    assert api["openapi"].startswith("3.0.")
    desc = next(link for link in client.get("/", headers={"Accept": "application/json"}).json()["links"]
                if link["rel"] == "service-desc")  # fmt: skip
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"


def test_items_item_and_download_parameters_are_described(api: dict) -> None:
    assert _names(api["paths"][ITEMS]["get"]) == STANDARD_ITEMS
    assert _names(api["paths"][ITEMS + "/{featureId}"]["get"]) == {"crs", "f"}
    download = _names(api["paths"]["/collections/{collectionId}/download.{fmt}"]["get"])
    assert STANDARD_ITEMS - {"f"} <= download
    bbox = next(p for p in api["paths"][ITEMS]["get"]["parameters"] if p["name"] == "bbox")
    assert bbox["style"] == "form" and bbox["explode"] is False and bbox["schema"]["type"] == "array"
    lang = next(p for p in api["paths"][ITEMS]["get"]["parameters"] if p["name"] == "filter-lang")
    assert lang["schema"]["enum"] == ["cql2-text", "cql2-json"]
    crs = next(p for p in api["paths"][ITEMS]["get"]["parameters"] if p["name"] == "crs")
    assert "http://www.opengis.net/def/crs/EPSG/0/4546" in crs["schema"]["enum"]
    assert "urn:xiangmap:crs:GCJ-02" in crs["schema"]["enum"]


def test_each_collection_has_its_items_path_with_its_queryables(api: dict, engine, ogc_rows: dict) -> None:  # type: ignore[no-untyped-def]
    for collection in collections(engine).values():
        operation = api["paths"][f"/collections/{collection.id}/items"]["get"]
        names = _names(operation)
        assert STANDARD_ITEMS | {"id"} | {f.name for f in collection.fields} == names, collection.id
        assert all(p["name"] != "collectionId" for p in operation["parameters"])
    projects = {p["name"]: p for p in api["paths"]["/collections/projects/items"]["get"]["parameters"]}
    assert projects["status"]["schema"] == {"type": "string"}
    assert projects["percent"]["schema"]["type"] == "number"


def test_the_parameters_described_are_the_ones_served(client: TestClient, api: dict, ogc_rows: dict) -> None:
    # every documented parameter is accepted (a 200 with a sensible value), so the document does not promise
    # what the parser refuses
    values = {
        "limit": "5", "offset": "0", "bbox": "113,27.8,113.2,27.9", "bbox-crs": "EPSG:4326",
        "datetime": "../2030-01-01", "properties": "title", "sortby": "-percent", "filter": "percent < 90",
        "filter-lang": "cql2-text", "filter-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "crs": "EPSG:4547", "f": "json", "status": "推进中",
    }  # fmt: skip
    for name in _names(api["paths"]["/collections/projects/items"]["get"]):
        if name in values:
            response = client.get("/collections/projects/items", params={name: values[name]})
            assert response.status_code == 200, (name, response.text)


class Recorder:
    """The app behind an ASGI wrapper that notes each request's path and query string: the server's own
    record of what GDAL asked for."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            with self.lock:
                self.seen.append((scope["path"], scope["query_string"].decode("latin-1")))
        await self.app(scope, receive, send)

    def items_requests(self, collection: str) -> list[dict[str, list[str]]]:
        from urllib.parse import parse_qs

        with self.lock:
            return [parse_qs(q) for path, q in self.seen if path == f"/collections/{collection}/items"]


@pytest.fixture(scope="module")
def recorded(app) -> Iterator[tuple[str, Recorder]]:  # type: ignore[no-untyped-def]
    import socket
    import time

    import uvicorn

    recorder = Recorder(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _pushed_down(requests: list[dict[str, list[str]]]) -> bool:
    """Did some items request carry the status condition, as ``status=`` or inside a CQL2 ``filter``?"""
    return any(
        q.get("status") == ["推进中"] or any("status" in f and "推进中" in f for f in q.get("filter", []))
        for q in requests
    )


def test_gdal_oapif_pushes_where_and_spat_down(recorded: tuple[str, Recorder], ogc_rows: dict) -> None:
    from tests.ogc.gdal_client import gdal_read

    base, recorder = recorded
    frame = gdal_read(
        f"OAPIF:{base}", layer="projects", where="status = '推进中'", bbox=(113.0, 27.8, 113.2, 27.9),
        fid_as_index=True,
    )  # fmt: skip
    assert ogc_rows["ogc-test-p1"] in frame.index and set(frame["status"]) == {"推进中"}
    requests = recorder.items_requests("projects")
    assert requests and _pushed_down(requests), requests
    assert any("bbox" in q for q in requests), requests


@pytest.mark.skipif(shutil.which("/usr/bin/ogrinfo") is None, reason="Debian's GDAL is not installed")
def test_debian_ogrinfo_pushes_where_down(recorded: tuple[str, Recorder], ogc_rows: dict) -> None:
    base, recorder = recorded
    before = len(recorder.items_requests("projects"))
    done = subprocess.run(
        ["/usr/bin/ogrinfo", "-ro", "-al", "-q", f"OAPIF:{base}", "projects", "-where", "status = '推进中'"],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "60"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "清水塘搬迁" in done.stdout
    requests = recorder.items_requests("projects")[before:]
    assert requests and _pushed_down(requests), requests
