"""Cached tiles and feature pages: the same bytes and a weak ETag until the data changes, then the change
on the very next request; ``If-None-Match`` gets a 304."""

from __future__ import annotations

import math
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.response_cache import response_cache

PLANT = "ogc-test-plant-1"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


@pytest.fixture
def capacity(engine: Engine, ogc_rows: dict) -> Iterator[float]:
    """The test plant's capacity, restored afterwards."""
    with engine.connect() as conn:
        value = conn.execute(text("SELECT capacity_m3_d FROM sewage_plants WHERE key = :k"), {"k": PLANT}).scalar_one()
    yield float(value)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sewage_plants SET capacity_m3_d = :v WHERE key = :k"), {"v": value, "k": PLANT})


def _set_capacity(engine: Engine, value: float) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE sewage_plants SET capacity_m3_d = :v WHERE key = :k"), {"v": value, "k": PLANT})


def _plant_in_page(client: TestClient) -> dict:
    page = client.get("/collections/sewage_plants/items", params={"key": PLANT})
    assert page.status_code == 200
    return page.json()["features"][0]["properties"]


def test_a_page_is_served_again_until_an_edit_then_the_edit_shows(
    client: TestClient, engine: Engine, capacity: float
) -> None:
    first = client.get("/collections/sewage_plants/items", params={"key": PLANT})
    hits = response_cache().hits
    again = client.get("/collections/sewage_plants/items", params={"key": PLANT})
    assert response_cache().hits == hits + 1
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert first.headers["etag"].startswith('W/"')

    _set_capacity(engine, capacity + 1000)
    after = client.get("/collections/sewage_plants/items", params={"key": PLANT})
    assert after.headers["etag"] != first.headers["etag"]
    assert after.json()["features"][0]["properties"]["capacity_m3_d"] == capacity + 1000


def test_a_tile_shows_an_edit_on_the_next_request(
    client: TestClient, engine: Engine, capacity: float, ogc_rows: dict
) -> None:
    x, y = _tile_of(113.110, 27.830, 14)
    url = f"/collections/sewage_plants/tiles/WebMercatorQuad/14/{y}/{x}"

    def plant_capacity() -> float:
        features = mapbox_vector_tile.decode(client.get(url).content)["sewage_plants"]["features"]
        return next(f["properties"]["capacity_m3_d"] for f in features if f["id"] == ogc_rows[PLANT])

    assert plant_capacity() == capacity
    assert plant_capacity() == capacity  # from the cache
    _set_capacity(engine, capacity + 7)
    assert plant_capacity() == capacity + 7


def test_if_none_match_gets_304_until_the_data_changes(client: TestClient, engine: Engine, capacity: float) -> None:
    url = "/collections/sewage_plants/items"
    etag = client.get(url).headers["etag"]
    unchanged = client.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    _set_capacity(engine, capacity + 3)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_pages_differ_by_query_and_bad_queries_are_still_refused(client: TestClient) -> None:
    one = client.get("/collections/sewage_plants/items", params={"limit": 1})
    two = client.get("/collections/sewage_plants/items", params={"limit": 2})
    assert one.json()["numberReturned"] == 1 and two.json()["numberReturned"] == 2
    assert one.headers["etag"] != two.headers["etag"]
    for _ in range(2):  # a refused query is never cached as an answer
        bad = client.get("/collections/sewage_plants/items", params={"limit": "many"})
        assert bad.status_code == 400
