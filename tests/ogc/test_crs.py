"""Part 2: crs / bbox-crs / Content-Crs with the axis order each CRS's EPSG definition says."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def _first_point(client: TestClient, feature_id: int, crs: str | None) -> tuple[list[float], str]:
    params = {"crs": crs} if crs else {}
    response = client.get(f"/collections/sewage_plants/items/{feature_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["geometry"]["coordinates"], response.headers["content-crs"]


def test_default_is_crs84_lon_lat(client: TestClient, ogc_rows: dict) -> None:
    point, header = _first_point(client, ogc_rows["ogc-test-plant-1"], None)
    assert point == [113.11, 27.83]
    assert header == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


@pytest.mark.parametrize("code", [4326, 4490])
def test_geographic_epsg_is_lat_lon(client: TestClient, ogc_rows: dict, code: int) -> None:
    point, header = _first_point(client, ogc_rows["ogc-test-plant-1"], EPSG.format(code))
    assert point == pytest.approx([27.83, 113.11], abs=1e-6)
    assert header == f"<{EPSG.format(code)}>"


def test_gauss_kruger_4547_is_northing_easting_in_metres(client: TestClient, ogc_rows: dict) -> None:
    point, _ = _first_point(client, ogc_rows["ogc-test-plant-1"], "EPSG:4547")
    easting, northing = Transformer.from_crs(4326, 4547, always_xy=True).transform(113.11, 27.83)
    assert point == pytest.approx([northing, easting], abs=0.01)


def test_web_mercator_is_easting_northing(client: TestClient, ogc_rows: dict) -> None:
    point, _ = _first_point(client, ogc_rows["ogc-test-plant-1"], EPSG.format(3857))
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(113.11, 27.83)
    assert point == pytest.approx([x, y], abs=0.01)


@pytest.mark.parametrize(
    ("bbox_crs", "to_bbox"),
    [
        ("EPSG:4326", lambda x1, y1, x2, y2: (y1, x1, y2, x2)),
        (EPSG.format(3857), lambda *c: _projected(3857, *c, swap=False)),
        (EPSG.format(4547), lambda *c: _projected(4547, *c, swap=True)),
    ],
)
def test_bbox_crs(client: TestClient, ogc_rows: dict, bbox_crs: str, to_bbox) -> None:  # type: ignore[no-untyped-def]
    bbox = to_bbox(113.105, 27.825, 113.115, 27.835)
    page = client.get(
        "/collections/sewage_plants/items",
        params={"bbox": ",".join(str(v) for v in bbox), "bbox-crs": bbox_crs, "source": "ogc test"},
    ).json()
    assert [f["id"] for f in page["features"]] == [ogc_rows["ogc-test-plant-1"]]


def _projected(code: int, x1: float, y1: float, x2: float, y2: float, swap: bool) -> tuple[float, ...]:
    to = Transformer.from_crs(4326, code, always_xy=True)
    (ax, ay), (bx, by) = to.transform(x1, y1), to.transform(x2, y2)
    return (ay, ax, by, bx) if swap else (ax, ay, bx, by)


def test_items_next_link_keeps_crs(client: TestClient, ogc_rows: dict) -> None:
    page = client.get("/collections/roads/items", params={"limit": 1, "crs": "EPSG:3857"})
    assert page.headers["content-crs"] == f"<{EPSG.format(3857)}>"
    nxt = next(link["href"] for link in page.json()["links"] if link["rel"] == "next")
    assert "crs=EPSG%3A3857" in nxt


@pytest.mark.parametrize(
    "form",
    ["EPSG:4546", "epsg:4546", "urn:ogc:def:crs:EPSG::4546", "urn:ogc:def:crs:EPSG:9.9.1:4546", EPSG.format(4546)],
)
def test_every_spelling_of_a_zone_is_the_same_crs(client: TestClient, ogc_rows: dict, form: str) -> None:
    point, header = _first_point(client, ogc_rows["ogc-test-plant-1"], form)
    assert header == f"<{EPSG.format(4546)}>"
    easting, northing = Transformer.from_crs(4326, 4546, always_xy=True).transform(113.11, 27.83)
    assert point == pytest.approx([northing, easting], abs=0.01)


def test_collections_list_every_offered_crs_and_the_storage_crs(client: TestClient) -> None:
    body = client.get("/collections").json()
    expected = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] + [
        EPSG.format(c) for c in (4326, 4490, 3857, 4545, 4546, 4547, 4524, 4525, 4526, 4508, 4509, 4497, 4498)
    ]
    assert body["crs"] == expected
    for collection in body["collections"]:
        assert collection["crs"] == expected and collection["storageCrs"] == EPSG.format(4326)


def test_an_unknown_crs_is_a_400_listing_what_is_offered(client: TestClient) -> None:
    response = client.get("/collections/roads/items", params={"bbox-crs": "EPSG:32649"})
    assert response.status_code == 400 and response.json()["parameter"] == "bbox-crs"
    assert EPSG.format(4525) in response.json()["detail"] and "GCJ-02" not in response.json()["detail"]
