"""HEAD works where GET does (issue 14 item 11): the same status and headers, an empty body; and a
path without GET still answers HEAD with 405."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

# headers that must agree between GET and HEAD (the date and per-request ids may differ)
COMPARED = ("content-type", "content-length", "etag", "content-crs", "content-disposition", "x-content-type-options")


def _paths(ids: dict) -> list[tuple[str, dict]]:
    road = ids["ogc-test-road-1"]
    return [
        ("/", {}),
        ("/conformance", {}),
        ("/collections", {}),
        ("/collections/roads", {}),
        ("/collections/roads/items", {"source": "ogc test", "crs": "EPSG:4547"}),
        (f"/collections/roads/items/{road}", {"crs": "GCJ-02"}),
        ("/collections/roads/items", {"f": "html", "source": "ogc test"}),
        ("/collections/roads/queryables", {}),
        ("/collections/roads/tiles/WebMercatorQuad/tilejson.json", {}),
        ("/collections/roads/tiles/WebMercatorQuad/14/6872/13340", {}),
        ("/collections/roads/download.geojson", {"source": "ogc test"}),
        ("/collections/roads/download.gpkg", {"source": "ogc test"}),
        ("/crs", {}),
        ("/openapi.json", {}),
        ("/maps/progress", {}),
        ("/static/vendor/leaflet/leaflet.js", {}),
        ("/healthz", {}),
        ("/no/such/page", {}),
        ("/collections/no_such_collection/items", {}),
    ]


@pytest.mark.parametrize("index", range(19))
def test_head_answers_as_get_without_a_body(client: TestClient, ogc_rows: dict, index: int) -> None:
    path, params = _paths(ogc_rows)[index]
    got = client.get(path, params=params)
    head = client.head(path, params=params)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
    assert head.content == b""
    streamed_download = "/download." in path and "content-length" not in got.headers
    for name in COMPARED:
        if name in ("content-length", "etag") and streamed_download:
            continue  # below: the HEAD describes the cached file GDAL will read by ranges
        assert head.headers.get(name) == got.headers.get(name), (path, name)
    if streamed_download:
        # a text download streams on GET, length unknown; its HEAD is written to the cache first and tells the
        # length, which GDAL's /vsicurl/ (QGIS's Protocol HTTP(S)) asks before reading by ranges
        assert int(head.headers["content-length"]) == len(
            client.get(path, params=params, headers={"Range": "bytes=0-"}).content
        )
    elif got.status_code == 200 and "content-length" not in got.headers:  # streamed: chunked for both
        assert "content-length" not in head.headers


def test_head_keeps_conditional_requests(client: TestClient, ogc_rows: dict) -> None:
    first = client.get("/collections/roads/items", params={"source": "ogc test"})
    etag = first.headers["etag"]
    again = client.head("/collections/roads/items", params={"source": "ogc test"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("path", ["/geocode", "/screening"])
def test_a_path_without_get_answers_head_with_405(client: TestClient, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 405
    assert head.headers.get("allow") == got.headers.get("allow") and "POST" in head.headers["allow"]
    assert head.content == b""
