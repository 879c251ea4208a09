"""Web map clients on another origin (issue 14, items 7 and 8): CORS for public reads and only for them,
gzip where it helps and never where byte ranges are read, Cache-Control that agrees with the ETags, lean
tiles whose feature ids open the full feature, TileJSON and the MapLibre style."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.common.derived_status import SCHEDULE_CLASSES

ORIGIN = "http://maps.elsewhere.example"
ALLOWED = "http://intranet-portal.example"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _raw(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body exactly as sent (httpx would otherwise decode the gzip)."""
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


@pytest.fixture(scope="module")
def private_client(engine: Engine) -> Iterator[TestClient]:
    """Reads need a token; one portal origin is configured for CORS."""
    from service.app import create_app
    from service.settings import Settings

    with TestClient(create_app(Settings(private_reads=True, cors_origins=[ALLOWED]))) as c:
        yield c


# --- CORS ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/collections",
        "/collections/projects/items?limit=2",
        "/collections/roads/tiles/WebMercatorQuad/tilejson.json",
        "/collections/roads/tiles/WebMercatorQuad/10/429/833",
        "/styles/default",
        "/collections/sewage_plants/download.csv",
        "/static/vendor/maplibre-gl/maplibre-gl.mjs",
        "/collections/nope",  # an error is readable too
    ],
)
def test_public_reads_answer_any_origin_without_credentials(client: TestClient, ogc_rows: dict, path: str) -> None:
    r = client.get(path, headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == "*", path
    assert "access-control-allow-credentials" not in r.headers
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "content-crs", "link", "content-disposition"} <= exposed
    # a constant answer: the same without Origin, so a shared cache may keep one copy for all
    assert client.get(path).headers["access-control-allow-origin"] == "*"


def test_a_preflight_for_a_tile_is_answered_before_any_route(client: TestClient) -> None:
    r = client.options(
        "/collections/roads/tiles/WebMercatorQuad/10/429/833",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match, Range, X-Requested-With",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert set(r.headers["access-control-allow-methods"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    assert set(r.headers["access-control-allow-headers"].split(", ")) == {"if-none-match", "range", "x-requested-with"}
    assert int(r.headers["access-control-max-age"]) > 0


def test_no_wildcard_for_tokens_writes_or_private_answers(client: TestClient, auth: dict) -> None:
    token_preflight = client.options(
        "/collections",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert token_preflight.status_code == 403 and "access-control-allow-origin" not in token_preflight.headers
    write_preflight = client.options(
        "/collections", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert write_preflight.status_code == 403
    for response in (
        client.options("/projects", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}),
        client.post("/geocode", json={"text": "株洲"}, headers={"Origin": ORIGIN}),
        client.get("/audit", headers={"Origin": ORIGIN, **auth["admin"]}),
        client.get("/screenings", headers={"Origin": ORIGIN, **auth["inspector"]}),
        client.put("/projects/1", json={}, headers={"Origin": ORIGIN, **auth["editor"]}),
    ):
        assert "access-control-allow-origin" not in response.headers, response.request.url


def test_with_private_reads_only_the_configured_origin_gets_cors(private_client: TestClient, auth: dict) -> None:
    stranger = private_client.get("/collections", headers={"Origin": ORIGIN, **auth["viewer"]})
    assert stranger.status_code == 200 and "access-control-allow-origin" not in stranger.headers
    refused = private_client.get("/collections", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and "access-control-allow-origin" not in refused.headers
    preflight = private_client.options(
        "/collections/roads/tiles/WebMercatorQuad/tilejson.json",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers.get("access-control-allow-origin") in (None, "")

    portal = private_client.options(
        "/collections/roads/tiles/WebMercatorQuad/tilejson.json",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert portal.status_code == 200 and portal.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in portal.headers["access-control-allow-headers"].lower()
    read = private_client.get(
        "/collections/roads/tiles/WebMercatorQuad/tilejson.json", headers={"Origin": ALLOWED, **auth["viewer"]}
    )
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == ALLOWED
    assert read.headers["access-control-allow-origin"] != "*" and "origin" in read.headers["vary"].lower()
    assert "etag" in read.headers["access-control-expose-headers"].lower()
    # a read that needed a token is never for shared caches
    assert read.headers["cache-control"] == "private, no-cache"


# --- compression --------------------------------------------------------------------------------------
def test_a_districts_page_is_gzipped_and_decompresses_to_the_same_json(client: TestClient) -> None:
    url = "/collections/districts/items"
    status, plain_headers, plain = _raw(client, url, IDENTITY)
    assert status == 200 and "content-encoding" not in plain_headers
    status, headers, packed = _raw(client, url, GZIP)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert "accept-encoding" in headers["vary"].lower() and "accept-encoding" in plain_headers["vary"].lower()
    assert json.loads(gzip.decompress(packed)) | {"timeStamp": None} == json.loads(plain) | {"timeStamp": None}
    assert len(packed) < len(plain) * 0.4  # 465 KB -> 167 KB (the response cache gzips at level 1, once)
    print(f"\n/collections/districts/items: {len(plain):,} bytes, {len(packed):,} gzipped")


@pytest.mark.parametrize(
    "path",
    [
        "/collections",  # JSON built per request
        "/collections/projects/items?f=html",  # HTML
        "/styles/default",
        "/static/vendor/maplibre-gl/maplibre-gl.mjs",  # a static file, not a download
    ],
)
def test_text_answers_are_gzipped_when_asked_for(client: TestClient, path: str) -> None:
    status, headers, packed = _raw(client, path, GZIP)
    assert status == 200 and headers["content-encoding"] == "gzip", path
    assert "accept-ranges" not in headers  # ranges of the gzip bytes are not offered
    status, _, plain = _raw(client, path, IDENTITY)
    if path.endswith(".mjs"):
        assert gzip.decompress(packed) == plain
    small = client.get("/collections/sites/tiles/WebMercatorQuad/tilejson.json", headers=GZIP)
    assert "content-encoding" not in small.headers  # under 1 KB: not worth it


def test_a_streamed_csv_download_is_gzipped_chunk_by_chunk(client: TestClient, ogc_rows: dict) -> None:
    _, plain_headers, plain = _raw(client, "/collections/roads/download.csv", IDENTITY)
    _, headers, packed = _raw(client, "/collections/roads/download.csv", GZIP)
    assert headers["content-encoding"] == "gzip" and gzip.decompress(packed) == plain
    assert "content-encoding" not in plain_headers


def test_range_reads_of_downloaded_files_are_never_compressed(client: TestClient, ogc_rows: dict) -> None:
    url = "/collections/sewage_plants/download.gpkg"
    status, whole_headers, whole = _raw(client, url, GZIP)
    assert status == 200 and "content-encoding" not in whole_headers and whole[:16] == b"SQLite format 3\x00"
    status, headers, part = _raw(client, url, {**GZIP, "Range": "bytes=0-99"})
    assert status == 206 and "content-encoding" not in headers
    assert part == whole[:100] and headers["content-range"].startswith("bytes 0-99/")
    # a text file served with ranges would not be compressed either when a range is asked for
    status, headers, _ = _raw(client, "/static/vendor/maplibre-gl/maplibre-gl.css", {**GZIP, "Range": "bytes=0-9"})
    assert status == 206 and "content-encoding" not in headers


def test_a_strong_etag_stays_on_the_identity_bytes(client: TestClient, engine: Engine) -> None:
    """The projects API's strong ETags are what If-Match compares (decision 0081): not weakened, not gzipped."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT id FROM projects ORDER BY id LIMIT 1")).scalar_one()
    status, headers, body = _raw(client, f"/projects/{pid}", GZIP)
    assert status == 200 and len(body) > 1024
    assert "content-encoding" not in headers and not headers["etag"].startswith("W/")


def test_a_tile_is_gzipped_and_still_decodes(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.06, 27.87, 10)
    url = f"/collections/districts/tiles/WebMercatorQuad/10/{y}/{x}"
    status, headers, packed = _raw(client, url, GZIP)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert mapbox_vector_tile.decode(gzip.decompress(packed))["districts"]["features"]


# --- Cache-Control and ETags --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/collections/districts/items",
        "/collections/districts/tiles/WebMercatorQuad/10/429/833",
        "/collections/districts/tiles/WebMercatorQuad/tilejson.json",
        "/styles/default",
        "/static/vendor/maplibre-gl/maplibre-gl.mjs",
    ],
)
def test_public_answers_revalidate_with_their_etag_in_both_encodings(client: TestClient, path: str) -> None:
    for encoding in (GZIP, IDENTITY):
        first = client.get(path, headers=encoding)
        assert first.status_code == 200 and first.headers["cache-control"] == "public, no-cache", path
        etag = first.headers["etag"]
        if first.headers.get("content-encoding") == "gzip":
            assert etag.startswith('W/"'), path  # the gzip bytes are not the identity bytes
        again = client.get(path, headers={**encoding, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["cache-control"] == "public, no-cache", path
        assert again.headers["etag"].removeprefix("W/") == etag.removeprefix("W/"), path


def test_with_a_token_a_public_read_is_private_to_the_browser(client: TestClient, auth: dict) -> None:
    r = client.get("/collections/districts/items", headers=auth["viewer"])
    assert r.headers["cache-control"] == "private, no-cache" and r.headers["etag"]
    assert client.get("/audit", headers=auth["admin"]).headers["cache-control"] == "no-store"


# --- tiles: what a map needs, the rest a click away ----------------------------------------------------
def test_project_tiles_carry_what_a_map_needs_and_the_id_opens_the_feature(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.075, 27.868, 12)
    decoded = mapbox_vector_tile.decode(client.get(f"/collections/projects/tiles/WebMercatorQuad/12/{y}/{x}").content)
    feature = next(f for f in decoded["projects"]["features"] if f["properties"].get("key") == "ogc-test-p1")
    props = feature["properties"]
    assert props["title"] == "清水塘搬迁" and props["status"] == "推进中" and props["category"] == "生态"
    assert not {"task_text", "lead_units", "responsible_units", "investment_wan"} & set(props)
    assert feature["id"] == ogc_rows["ogc-test-p1"]
    full = client.get(f"/collections/projects/items/{feature['id']}").json()["properties"]
    assert full["task_text"] == "清水塘搬迁" and full["lead_units"] == "市发改委"


def test_layer_tiles_leave_the_provenance_to_the_feature_page(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.110, 27.830, 14)
    decoded = mapbox_vector_tile.decode(
        client.get(f"/collections/sewage_plants/tiles/WebMercatorQuad/14/{y}/{x}").content
    )
    plant = next(f for f in decoded["sewage_plants"]["features"] if f["id"] == ogc_rows["ogc-test-plant-1"])
    assert {"name", "key", "capacity_m3_d"} <= set(plant["properties"])
    assert not {"source", "method", "aliases", "accuracy_m", "verified", "updated_at"} & set(plant["properties"])


# --- TileJSON and the style ---------------------------------------------------------------------------
def test_tilejson_is_what_maplibre_and_qgis_read(client: TestClient, ogc_rows: dict) -> None:
    doc = client.get("/collections/projects/tiles/WebMercatorQuad/tilejson.json").json()
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    assert doc["tiles"][0].startswith("http") and doc["tiles"][0].endswith("/{z}/{y}/{x}")
    assert 0 == doc["minzoom"] < doc["maxzoom"] <= 22
    west, south, east, north = doc["bounds"]
    assert -180 <= west < east <= 180 and -85.06 < south < north < 85.06
    lon, lat, zoom = doc["center"]
    assert west <= lon <= east and south <= lat <= north and isinstance(zoom, int)
    (layer,) = doc["vector_layers"]
    assert (
        layer["id"] == "projects" and layer["fields"]["status"] == "String" and layer["fields"]["percent"] == "Number"
    )
    assert "task_text" not in layer["fields"]


def test_the_style_draws_every_collection_and_projects_by_status(client: TestClient) -> None:
    style = client.get("/styles/default")
    assert style.status_code == 200 and style.headers["content-type"].startswith("application/vnd.mapbox.style+json")
    doc = style.json()
    assert doc["version"] == 8 and "glyphs" not in doc and "sprite" not in doc
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    kinds = ("points", "lines", "areas")  # the per-kind views repeat their base: drawn once, from it (decision 0101)
    collections = {
        i: c for i, c in listed.items() if not (i.rpartition("_")[2] in kinds and i.rpartition("_")[0] in listed)
    }
    assert len(collections) < len(listed) and set(doc["sources"]) == set(collections)
    for cid, source in doc["sources"].items():
        assert source["type"] == "vector"
        assert source["url"].startswith("http") and source["url"].endswith(
            f"/collections/{cid}/tiles/WebMercatorQuad/tilejson.json"
        )
    layers = doc["layers"]
    assert layers[0]["type"] == "background"
    assert {layer["source"] for layer in layers[1:]} == set(collections)
    assert all(layer["source-layer"] == layer["source"] for layer in layers[1:])
    assert [layer["source"] for layer in layers[1:]][-1] == "projects"  # drawn on top
    projects = [layer for layer in layers if layer.get("source") == "projects"]
    assert {layer["type"] for layer in projects} == {"fill", "line", "circle"}
    circle = next(layer for layer in projects if layer["type"] == "circle")
    colour = circle["paint"]["circle-color"]
    # labels as one-item lists, the form QGIS 3.22's style converter reads (MapLibre takes both)
    assert colour[0] == "match" and set(SCHEDULE_CLASSES) <= {label[0] for label in colour[2:-1:2]}
    assert not any("text-field" in layer.get("layout", {}) for layer in layers)  # no glyphs needed

    one = client.get("/collections/roads/styles/default").json()
    assert set(one["sources"]) == {"roads"} and {layer["type"] for layer in one["layers"][1:]} == {"line"}
    assert client.get("/styles/other").status_code == 404
    assert client.get("/collections/nope/styles/default").status_code == 404


def test_the_style_is_linked_from_the_landing_page_and_the_collections(client: TestClient) -> None:
    landing = client.get("/").json()["links"]
    sheet = next(link for link in landing if link["rel"] == "stylesheet")
    assert sheet["href"].endswith("/styles/default") and sheet["type"] == "application/vnd.mapbox.style+json"
    styles = client.get("/styles").json()
    assert styles["default"] == "default" and styles["styles"][0]["links"][0]["href"] == sheet["href"]
    roads = client.get("/collections/roads").json()["links"]
    assert next(link for link in roads if link["rel"] == "stylesheet")["href"].endswith(
        "/collections/roads/styles/default"
    )
    assert client.get("/collections/roads/styles").json()["styles"][0]["id"] == "default"
