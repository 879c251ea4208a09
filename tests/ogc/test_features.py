"""OGC API - Features Part 1 core: landing page, conformance, collections, items, item, queryables, errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

GEOJSON = "application/geo+json"


def _ids(features: list[dict[str, Any]]) -> list[int]:
    return [f["id"] for f in features]


def test_landing_page_links(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    rels = {link["rel"] for link in response.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert all(link["href"].startswith("http") for link in response.json()["links"])
    api = client.get("/openapi.json").json()
    assert "/collections/{collectionId}/items" in api["paths"]


def test_conformance_declares_core_crs_filter_tiles(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in classes
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in classes


def test_collections_cover_layers_and_projects(client: TestClient, engine: Engine, ogc_rows: dict) -> None:
    body = client.get("/collections").json()
    ids = {c["id"] for c in body["collections"]}
    with engine.connect() as conn:
        catalogue = dict(conn.execute(text("SELECT id, geometry_type FROM layer_catalogue")).all())
    mixed = [layer for layer, kind in catalogue.items() if kind == "Geometry"] + ["projects"]
    views = {f"{m}_{kind}" for m in mixed for kind in ("points", "lines", "areas")}  # decision 0101
    assert set(catalogue) | {"projects"} | views == ids
    assert all("." not in i for i in ids)
    roads = next(c for c in body["collections"] if c["id"] == "roads")
    assert roads["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4326"
    assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in roads["crs"]
    assert "http://www.opengis.net/def/crs/EPSG/0/4547" in roads["crs"]
    xmin, ymin, xmax, ymax = roads["extent"]["spatial"]["bbox"][0]
    assert xmin <= 113.060 and xmax >= 113.100 and ymin <= 27.860 and ymax >= 27.880
    green = next(c for c in body["collections"] if c["id"] == "green_heart")
    assert (
        "temporal" in green["extent"]
        or client.get("/collections/green_heart/items?limit=1").json()["numberReturned"] == 0
    )


def test_items_page_links_and_media_type(client: TestClient, engine: Engine, ogc_rows: dict) -> None:
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM roads")).scalar_one()
        expected = list(conn.execute(text("SELECT id FROM roads ORDER BY id")).scalars())
    response = client.get("/collections/roads/items?limit=2&f=json")
    assert response.status_code == 200
    assert response.headers["content-type"] == GEOJSON
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    body = response.json()
    assert body["numberMatched"] == total and body["numberMatchedIsEstimate"] is False
    seen: list[int] = []
    url: str | None = "/collections/roads/items?limit=2&f=json"
    pages = 0
    while url:
        page = client.get(url).json()
        seen += _ids(page["features"])
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        assert all("f=" not in href for href in nxt)
        url = nxt[0] if nxt else None
        pages += 1
    assert seen == expected
    assert pages >= 2
    second = client.get("/collections/roads/items?limit=2&offset=2").json()
    prev = [link["href"] for link in second["links"] if link["rel"] == "prev"]
    assert prev and "offset" not in prev[0]


def test_items_properties_types_and_arrays(client: TestClient, ogc_rows: dict) -> None:
    road_id = ogc_rows["ogc-test-road-1"]
    feature = client.get(f"/collections/roads/items/{road_id}").json()
    assert feature["type"] == "Feature" and feature["id"] == road_id
    assert feature["properties"]["name"] == "株冶路"
    assert feature["properties"]["aliases"] == "株冶大道"
    assert feature["properties"]["accuracy_m"] == 30.0
    assert feature["geometry"]["type"] == "MultiLineString"
    assert feature["geometry"]["coordinates"][0][0] == [113.06, 27.868]
    assert any(link["rel"] == "collection" for link in feature["links"])


def test_bbox_property_equality_properties_and_sortby(client: TestClient, ogc_rows: dict) -> None:
    page = client.get("/collections/roads/items?bbox=113.055,27.865,113.075,27.875").json()
    assert ogc_rows["ogc-test-road-1"] in _ids(page["features"])
    assert ogc_rows["ogc-test-road-2"] not in _ids(page["features"])
    page = client.get("/collections/roads/items", params={"name": "清雨路", "source": "ogc test"}).json()
    assert _ids(page["features"]) == [ogc_rows["ogc-test-road-2"]]
    page = client.get("/collections/roads/items", params={"source": "ogc test", "properties": "name"}).json()
    assert all(set(f["properties"]) == {"name"} for f in page["features"])
    page = client.get("/collections/roads/items", params={"source": "ogc test", "sortby": "-name"}).json()
    names = [f["properties"]["name"] for f in page["features"]]
    assert names == sorted(names, reverse=True)


def test_projects_carry_progress_and_null_geometries(client: TestClient, ogc_rows: dict) -> None:
    page = client.get("/collections/projects/items", params={"plan_id": "ogc-test-plan"}).json()
    by_key = {f["properties"]["key"]: f for f in page["features"]}
    assert set(by_key) == {"ogc-test-p1", "ogc-test-p2", "ogc-test-p3"}
    p1 = by_key["ogc-test-p1"]["properties"]
    assert (p1["status"], p1["percent"], p1["investment_wan"], p1["period"]) == ("推进中", 60.0, 2500.0, "2018-06-01")
    assert p1["responsible_units"] == "石峰区政府; 市环保局"
    assert p1["precision"] == 1 and p1["category"] == "生态"
    assert by_key["ogc-test-p3"]["geometry"] is None
    assert by_key["ogc-test-p3"]["properties"]["status"] is None
    done = client.get("/collections/projects/items", params={"plan_id": "ogc-test-plan", "status": "已完成"}).json()
    assert [f["properties"]["key"] for f in done["features"]] == ["ogc-test-p2"]
    dated = client.get("/collections/projects/items", params={"plan_id": "ogc-test-plan", "datetime": "2018-12-01/.."})
    assert dated.json()["numberMatched"] == 3


def test_queryables(client: TestClient) -> None:
    response = client.get("/collections/projects/queryables")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    properties = response.json()["properties"]
    assert properties["percent"]["type"] == "number"
    assert properties["deadline"]["format"] == "date"
    assert properties["geometry"]["format"] == "geometry-any"


def _problem(client: TestClient, url: str, status: int, parameter: str | None) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    if parameter:
        assert body["parameter"] == parameter
        assert parameter in body["detail"]
    return body


def test_errors_are_problems_naming_the_parameter(client: TestClient, ogc_rows: dict) -> None:
    _problem(client, "/collections/nope", 404, "collectionId")
    _problem(client, "/collections/nope/items", 404, "collectionId")
    _problem(client, "/collections/roads/items/999999999", 404, "featureId")
    _problem(client, "/collections/roads/items/abc", 404, "featureId")
    _problem(client, "/collections/roads/items?bbox=1,2,3", 400, "bbox")
    _problem(client, "/collections/roads/items?bbox=a,b,c,d", 400, "bbox")
    _problem(client, "/collections/roads/items?bbox=3,2,1,4", 400, "bbox")
    _problem(client, "/collections/roads/items?limit=0", 400, "limit")
    _problem(client, "/collections/roads/items?limit=x", 400, "limit")
    _problem(client, "/collections/roads/items?offset=-1", 400, "offset")
    _problem(client, "/collections/roads/items?crs=EPSG:2000", 400, "crs")
    _problem(client, "/collections/roads/items?bbox-crs=EPSG:9999&bbox=1,2,3,4", 400, "bbox-crs")
    _problem(client, "/collections/roads/items?sortby=nope", 400, "sortby")
    _problem(client, "/collections/roads/items?properties=nope", 400, "properties")
    _problem(client, "/collections/roads/items?nope=1", 400, "nope")
    _problem(client, "/collections/roads/items?accuracy_m=far", 400, "accuracy_m")
    _problem(client, "/collections/roads/items?datetime=2018-01-01", 400, "datetime")
    _problem(client, "/collections/projects/items?datetime=yesterday", 400, "datetime")
    _problem(client, "/collections/roads/items?filter=name%20%3D", 400, "filter")
    _problem(client, "/collections/roads/items?filter=secret%20%3D%201", 400, "filter")
    _problem(client, "/collections/roads/items?filter-lang=xpath&filter=a", 400, "filter-lang")


def test_number_matched_estimate_is_flagged_and_paging_still_works(
    client: TestClient, engine: Engine, ogc_rows: dict
) -> None:
    from service.settings import get_settings

    settings = get_settings()
    saved = settings.ogc_exact_count_below
    settings.ogc_exact_count_below = 1  # every count is "big": the planner's estimate is used
    try:
        first = client.get("/collections/roads/items?limit=2").json()
        assert first["numberMatchedIsEstimate"] is True
        assert first["numberMatched"] >= 3  # never less than the page proves exists
        seen: list[int] = []
        url: str | None = "/collections/roads/items?limit=2"
        while url:
            page = client.get(url).json()
            seen += _ids(page["features"])
            url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    finally:
        settings.ogc_exact_count_below = saved
    with engine.connect() as conn:
        assert seen == list(conn.execute(text("SELECT id FROM roads ORDER BY id")).scalars())


def test_head_on_a_file_download(client: TestClient, ogc_rows: dict) -> None:
    response = client.head("/collections/roads/download.gpkg", params={"source": "ogc test"})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) > 0


def test_a_limit_above_the_maximum_is_served_as_the_maximum(client) -> None:  # type: ignore[no-untyped-def]
    """OGC API - Features Part 1, requirement /req/core/fc-limit-response-1: clamp, do not refuse."""
    from service.settings import get_settings

    most = get_settings().page_limit_max
    page = client.get("/collections/roads/items", params={"limit": most + 1})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["numberReturned"] == min(most, body["numberMatched"])
    nexts = [link["href"] for link in body["links"] if link["rel"] == "next"]
    assert all(f"offset={most}" in href for href in nexts)


def test_jquery_cache_busting_parameter_is_ignored(client) -> None:  # type: ignore[no-untyped-def]
    plain = client.get("/collections/roads/items", params={"limit": 3}).json()
    busted = client.get("/collections/roads/items", params={"limit": 3, "_": "1733097600000"})
    assert busted.status_code == 200, busted.text
    assert [f["id"] for f in busted.json()["features"]] == [f["id"] for f in plain["features"]]
