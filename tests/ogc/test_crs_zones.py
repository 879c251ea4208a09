"""Every CRS offered over Hunan (issue 14 item 9): output lands where CRS84 says, a bbox in it selects what
the equivalent CRS84 box selects, PostGIS knows it, and a box outside its area of use is a clear 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer
from sqlalchemy import Engine, text

from service.ogc.crs import CRS84, GAUSS_KRUGER_HUNAN, SUPPORTED_EPSG, supported_uris

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
SOURCE = "crs zone test"
# one site in each part of Hunan: west (Huaihua, CM 108 E), centre-west (Loudi, CM 111 E), east (Zhuzhou, 114 E)
SITES = {
    "crs-test-west": (109.2, 27.6),
    "crs-test-centre": (111.2, 27.7),
    "crs-test-east": (113.6, 27.1),
}


@pytest.fixture(scope="module")
def zone_sites(engine: Engine) -> Iterator[dict[str, int]]:
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sites WHERE key LIKE 'crs-test-%'"))
        for key, (lon, lat) in SITES.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO sites (key, name, source, kind, geom) VALUES "
                    "(:k, :k, :s, 'hill', ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
                ),
                {"k": key, "s": SOURCE, "x": lon, "y": lat},
            ).scalar_one()
    try:
        yield ids
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sites WHERE key LIKE 'crs-test-%'"))


def _site_for(code: int) -> str:
    """The test site nearest the middle of the CRS's area of use (inside it for every zone offered)."""
    area = CRS.from_epsg(code).area_of_use
    assert area is not None
    middle = (max(area.west, 108.8) + min(area.east, 114.3)) / 2
    return min(SITES, key=lambda key: abs(SITES[key][0] - middle))


def _to_crs(code: int, lon: float, lat: float) -> list[float]:
    """(lon, lat) in EPSG:code, in the CRS's own axis order."""
    transformer = Transformer.from_crs("OGC:CRS84", code)  # not always_xy: the EPSG axis order
    return list(transformer.transform(lon, lat))


def test_the_offered_list_covers_hunan() -> None:
    # every CGCS2000 3-degree and 6-degree Gauss-Kruger zone that touches Hunan (108.8-114.3 E), both forms
    names = {CRS.from_epsg(c).name for c in GAUSS_KRUGER_HUNAN}
    for cm in ("108E", "111E", "114E"):
        assert f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}" in names
    for zone in (36, 37, 38):
        assert f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}" in names
    for six in ("CM 111E", "CM 117E", "zone 19", "zone 20"):
        assert f"CGCS2000 / Gauss-Kruger {six}" in names
    covered = [CRS.from_epsg(c).area_of_use for c in GAUSS_KRUGER_HUNAN if "3-degree" in CRS.from_epsg(c).name]
    assert min(a.west for a in covered if a) <= 108.8 and max(a.east for a in covered if a) >= 114.3
    assert supported_uris() == [CRS84, *(EPSG.format(c) for c in SUPPORTED_EPSG)]
    assert {4326, 4490, 3857} <= set(SUPPORTED_EPSG)


def test_postgis_knows_every_offered_crs_and_round_trips(engine: Engine) -> None:
    with engine.connect() as conn:
        known = set(
            conn.execute(
                text("SELECT srid FROM spatial_ref_sys WHERE srid = ANY(:s)"), {"s": list(SUPPORTED_EPSG)}
            ).scalars()
        )
        assert known == set(SUPPORTED_EPSG)
        for code in SUPPORTED_EPSG:
            x, y = conn.execute(
                text(
                    "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_Transform("
                    "ST_SetSRID(ST_MakePoint(112.9, 28.2), 4326), :c), 4326) AS g) q"
                ),
                {"c": code},
            ).one()
            assert (x, y) == pytest.approx((112.9, 28.2), abs=1e-9), code


@pytest.mark.parametrize("code", SUPPORTED_EPSG)
def test_items_in_each_crs_land_on_the_crs84_coordinates(client: TestClient, zone_sites: dict, code: int) -> None:
    page = client.get("/collections/sites/items", params={"source": SOURCE, "crs": f"EPSG:{code}"})
    assert page.status_code == 200, page.text
    assert page.headers["content-crs"] == f"<{EPSG.format(code)}>"
    back = Transformer.from_crs(code, "OGC:CRS84")
    found = {f["id"]: f["geometry"]["coordinates"] for f in page.json()["features"]}
    assert set(found) == set(zone_sites.values())
    for key, feature_id in zone_sites.items():
        lon, lat = back.transform(*found[feature_id])
        assert (lon, lat) == pytest.approx(SITES[key], abs=1e-7), (code, key)
        # and the first axis is the one the EPSG register puts first
        assert found[feature_id] == pytest.approx(_to_crs(code, *SITES[key]), abs=0.01)


@pytest.mark.parametrize("code", SUPPORTED_EPSG)
def test_a_bbox_in_each_crs_selects_what_the_crs84_box_selects(client: TestClient, zone_sites: dict, code: int) -> None:
    key = _site_for(code)
    lon, lat = SITES[key]
    crs84_box = (lon - 0.02, lat - 0.02, lon + 0.02, lat + 0.02)
    to = Transformer.from_crs("OGC:CRS84", code)
    a1, b1, a2, b2 = to.transform_bounds(*crs84_box, densify_pts=21)  # in the CRS's own axis order
    expected = client.get(
        "/collections/sites/items", params={"source": SOURCE, "bbox": ",".join(map(str, crs84_box))}
    ).json()
    found = client.get(
        "/collections/sites/items",
        params={"source": SOURCE, "bbox": f"{a1},{b1},{a2},{b2}", "bbox-crs": EPSG.format(code)},
    )
    assert found.status_code == 200, found.text
    ids = [f["id"] for f in found.json()["features"]]
    assert ids == [f["id"] for f in expected["features"]] == [zone_sites[key]]


def test_item_in_a_zone_prefixed_crs_carries_the_zone_number(client: TestClient, zone_sites: dict) -> None:
    feature_id = zone_sites["crs-test-centre"]
    cm = client.get(f"/collections/sites/items/{feature_id}", params={"crs": "EPSG:4546"}).json()
    zone = client.get(f"/collections/sites/items/{feature_id}", params={"crs": "EPSG:4525"}).json()
    (north_cm, east_cm), (north_zone, east_zone) = cm["geometry"]["coordinates"], zone["geometry"]["coordinates"]
    assert north_cm == pytest.approx(north_zone, abs=0.01)
    assert east_zone - east_cm == pytest.approx(37_000_000, abs=0.01)


def _problem(client: TestClient, **params: str) -> dict:
    response = client.get("/collections/sites/items", params={"source": SOURCE, **params})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_a_lon_lat_box_sent_as_epsg_4326_is_refused_as_swapped(client: TestClient, zone_sites: dict) -> None:
    body = _problem(client, bbox="113.5,27.0,113.7,27.2", **{"bbox-crs": "EPSG:4326"})
    assert body["parameter"] == "bbox" and body["fault"] == "outside_crs_area" and body["swapped"] is True
    assert "outside the area of use of EPSG:4326" in body["detail"]
    assert "axis order looks swapped" in body["detail"] and "latitude first" in body["detail"]
    # the same numbers in the right order select the east site
    fine = client.get(
        "/collections/sites/items", params={"source": SOURCE, "bbox": "27.0,113.5,27.2,113.7", "bbox-crs": "EPSG:4326"}
    )
    assert [f["id"] for f in fine.json()["features"]] == [zone_sites["crs-test-east"]]


def test_a_lat_lon_box_sent_as_crs84_and_4490_is_refused_as_swapped(client: TestClient) -> None:
    assert "axis order looks swapped" in _problem(client, bbox="27.0,113.5,27.2,113.7")["detail"]
    body = _problem(client, bbox="113.5,27.0,113.7,27.2", **{"bbox-crs": EPSG.format(4490)})
    assert body["swapped"] is True and "EPSG:4490" in body["detail"]


def test_an_easting_northing_box_for_a_gauss_kruger_zone_is_refused_as_swapped(client: TestClient) -> None:
    north, east = _to_crs(4547, *SITES["crs-test-east"])
    body = _problem(client, bbox=f"{east - 500},{north - 500},{east + 500},{north + 500}", **{"bbox-crs": "EPSG:4547"})
    assert body["swapped"] is True and "northing first" in body["detail"]


def test_a_cm_box_sent_with_the_zone_numbered_crs_names_the_right_one(client: TestClient) -> None:
    north, east = _to_crs(4547, *SITES["crs-test-east"])
    body = _problem(client, bbox=f"{north - 500},{east - 500},{north + 500},{east + 500}", **{"bbox-crs": "EPSG:4526"})
    assert body["swapped"] is False and "use bbox-crs=EPSG:4547" in body["detail"]


def test_a_box_wholly_outside_without_a_swap_says_so(client: TestClient) -> None:
    body = _problem(client, bbox="0,0,1,1", **{"bbox-crs": EPSG.format(4490)})
    assert body["swapped"] is False and "wholly outside the area of use of EPSG:4490" in body["detail"]


def test_a_box_partly_outside_the_area_is_served(client: TestClient, zone_sites: dict) -> None:
    # from the Pacific to Zhuzhou: EPSG:4490 is used over China only, the box still overlaps it
    found = client.get(
        "/collections/sites/items",
        params={"source": SOURCE, "bbox": "27.0,113.5,27.2,160", "bbox-crs": EPSG.format(4490)},
    )
    assert found.status_code == 200, found.text
    assert [f["id"] for f in found.json()["features"]] == [zone_sites["crs-test-east"]]


def test_a_filter_geometry_outside_filter_crs_is_refused_as_swapped(client: TestClient, zone_sites: dict) -> None:
    body = _problem(
        client, filter="S_INTERSECTS(geometry, BBOX(113.5, 27.0, 113.7, 27.2))", **{"filter-crs": "EPSG:4326"}
    )
    assert body["parameter"] == "filter-crs" and body["swapped"] is True
    body = _problem(client, filter="S_INTERSECTS(geometry, POINT(27.1 113.6))")
    assert body["parameter"] == "filter-crs" and "CRS84" in body["detail"]
    fine = client.get(
        "/collections/sites/items",
        params={
            "source": SOURCE,
            "filter": "S_INTERSECTS(geometry, BBOX(27.0, 113.5, 27.2, 113.7))",
            "filter-crs": "EPSG:4326",
        },
    )
    assert [f["id"] for f in fine.json()["features"]] == [zone_sites["crs-test-east"]]


def test_the_crs_listing_gives_axes_and_areas(client: TestClient) -> None:
    landing = client.get("/", headers={"Accept": "application/json"}).json()
    assert any(link["href"].endswith("/crs") for link in landing["links"])
    listing = client.get("/crs").json()
    by_uri = {entry["uri"]: entry for entry in listing["crs"]}
    assert list(by_uri)[: len(supported_uris())] == supported_uris()
    gk = by_uri[EPSG.format(4546)]
    assert gk["name"] == "CGCS2000 / 3-degree Gauss-Kruger CM 111E"
    assert [a["direction"] for a in gk["axes"]] == ["north", "east"]
    assert gk["areaOfUse"]["bbox"] == [109.5, 18.11, 112.5, 45.11]
    north_min, east_min, north_max, east_max = gk["bounds"]
    assert east_min < 500_000 < east_max and north_min < 3_000_000 < north_max
    assert by_uri["urn:xiangmap:crs:GCJ-02"]["outputOnly"] is True
    collection = client.get("/collections/sites").json()
    assert collection["crs"] == supported_uris()
    assert collection["x-xiangmap-outputCrs"] == ["urn:xiangmap:crs:GCJ-02"]


@pytest.mark.parametrize("code", [3857, 4547, 4526])
def test_a_huge_projected_box_is_cut_to_the_area_of_use_not_densified_forever(
    client: TestClient, zone_sites: dict, code: int
) -> None:
    found = client.get(
        "/collections/sites/items",
        params={"source": SOURCE, "bbox": "-1e12,-1e12,1e12,1e12", "bbox-crs": f"EPSG:{code}"},
    )
    assert found.status_code == 200, found.text
    ids = {f["id"] for f in found.json()["features"]}
    if code == 3857:
        assert ids == set(zone_sites.values())
    else:  # the zone's area of use (and a degree either side) holds the east site only
        assert zone_sites["crs-test-east"] in ids and zone_sites["crs-test-west"] not in ids
