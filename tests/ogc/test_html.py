"""HTML views: browsers (Accept text/html) and f=html get pages; the item map uses the local Leaflet."""

from __future__ import annotations

from fastapi.testclient import TestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_browser_gets_html_gis_clients_get_json(client: TestClient) -> None:
    assert client.get("/", headers=BROWSER).headers["content-type"].startswith("text/html")
    assert client.get("/", headers={"Accept": "application/json"}).headers["content-type"] == "application/json"
    assert client.get("/collections?f=html").headers["content-type"].startswith("text/html")
    bad = client.get("/collections?f=xml")
    assert bad.status_code == 400 and bad.json()["parameter"] == "f"


def test_every_page_renders(client: TestClient, ogc_rows: dict) -> None:
    road = ogc_rows["ogc-test-road-1"]
    for url in (
        "/",
        "/conformance",
        "/collections",
        "/collections/roads",
        "/collections/roads/queryables",
        "/collections/roads/items?limit=5",
        f"/collections/roads/items/{road}",
        "/collections/projects/items?plan_id=ogc-test-plan",
    ):
        response = client.get(url, headers=BROWSER)
        assert response.status_code == 200, url
        assert "<html" in response.text


def test_item_page_has_local_leaflet_map_and_chinese_text(client: TestClient, ogc_rows: dict) -> None:
    page = client.get(f"/collections/roads/items/{ogc_rows['ogc-test-road-1']}?f=html").text
    assert "/static/vendor/leaflet/leaflet.js" in page and "/static/vendor/leaflet/leaflet.css" in page
    assert "株冶路" in page
    assert "unpkg" not in page and "cdn" not in page.lower()
    items = client.get("/collections/roads/items?limit=1&f=html").text
    assert "f=html" in items and "next" in items
