"""OGC API - Tiles: MVT from ST_AsMVT decoded with mapbox-vector-tile, tileset metadata and TileJSON."""

from __future__ import annotations

import math

import mapbox_vector_tile
from fastapi.testclient import TestClient


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def test_tile_holds_the_features_with_properties(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.110, 27.830, 14)
    response = client.get(f"/collections/sewage_plants/tiles/WebMercatorQuad/14/{y}/{x}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content)
    features = layers["sewage_plants"]["features"]
    plant = next(f for f in features if f["id"] == ogc_rows["ogc-test-plant-1"])
    assert plant["properties"]["name"] == "河西污水处理厂"
    assert plant["properties"]["capacity_m3_d"] == 12.5
    assert plant["geometry"]["type"] == "Point"


def test_tile_filters_apply_and_empty_tiles_are_empty(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.065, 27.870, 13)
    url = f"/collections/roads/tiles/WebMercatorQuad/13/{y}/{x}"
    decoded = mapbox_vector_tile.decode(client.get(url, params={"name": "株冶路", "source": "ogc test"}).content)
    assert [f["properties"]["name"] for f in decoded["roads"]["features"]] == ["株冶路"]
    far = client.get("/collections/roads/tiles/WebMercatorQuad/14/0/0")
    assert far.status_code == 200 and mapbox_vector_tile.decode(far.content) == {}


def test_projects_tile_has_status_for_styling(client: TestClient, ogc_rows: dict) -> None:
    x, y = _tile_of(113.075, 27.868, 12)
    decoded = mapbox_vector_tile.decode(client.get(f"/collections/projects/tiles/WebMercatorQuad/12/{y}/{x}").content)
    p1 = next(f for f in decoded["projects"]["features"] if f["properties"].get("key") == "ogc-test-p1")
    assert p1["properties"]["status"] == "推进中" and p1["properties"]["percent"] == 60.0


def test_tile_errors(client: TestClient) -> None:
    assert client.get("/collections/roads/tiles/WebMercatorQuad/3/8/0").status_code == 404
    assert client.get("/collections/roads/tiles/WebMercatorQuad/30/0/0").status_code == 404
    assert client.get("/collections/roads/tiles/WebMercatorQuad/a/0/0").status_code == 400
    assert client.get("/collections/roads/tiles/OtherQuad/1/0/0").status_code == 404
    assert client.get("/collections/nope/tiles/WebMercatorQuad/1/0/0").status_code == 404


def test_tileset_metadata_and_tilejson(client: TestClient, ogc_rows: dict) -> None:
    tilesets = client.get("/collections/roads/tiles").json()["tilesets"]
    assert tilesets[0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    meta = client.get("/collections/roads/tiles/WebMercatorQuad").json()
    template = next(link for link in meta["links"] if link["rel"] == "item")
    assert template["href"].endswith("/collections/roads/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    tilejson = client.get("/collections/roads/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/collections/roads/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert tilejson["vector_layers"][0]["id"] == "roads"
    assert tilejson["bounds"][0] <= 113.06 <= tilejson["bounds"][2]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert len(tms["tileMatrices"]) == 23 and tms["tileMatrices"][1]["matrixWidth"] == 2
