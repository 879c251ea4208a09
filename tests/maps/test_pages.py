"""Map pages and their data endpoints over HTTP: light pages, local assets only, GeoJSON media type, 404s."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import Engine, text


def test_progress_page_is_light_and_loads_nothing_from_the_internet(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/progress")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert len(r.content) < 40_000  # the data is fetched, never inlined
    sources = re.findall(r'<(?:script[^>]*src|link[^>]*href)="([^"]+)"', r.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "长株潭两型社会建设项目进展图" in r.text
    assert "tile.openstreetmap.org" in r.text  # the OSM basemap is offered (tiles, not scripts)
    with engine.connect() as conn:
        has_demo = conn.execute(text("SELECT bool_or(demo) FROM progress_reports")).scalar_one()
    assert ('"demo_note": null' not in r.text) is bool(has_demo)  # the page says when it shows demonstration data


def test_tianditu_is_offered_only_with_a_key(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from service.settings import get_settings

    assert "tianditu.gov.cn" not in client.get("/maps/progress?basemap=tianditu-img").text
    monkeypatch.setattr(get_settings(), "tianditu_key", "testkey123")
    page = client.get("/maps/progress?basemap=tianditu-img").text
    assert "t{s}.tianditu.gov.cn/img_w/wmts" in page and "t{s}.tianditu.gov.cn/cia_w/wmts" in page
    assert "tk=testkey123" in page and json.dumps("天地图影像")[1:-1] in page


def test_projects_geojson_is_light(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/data/projects.geojson", params={"plan": "zhuzhou-2018", "as_of": "2018-12"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert features and set(features[0]["properties"]) == {"s", "p", "q"}
    assert {f["properties"]["s"] for f in features} <= {"正常推进", "已开工进展缓慢", "应开工未开工", "已完成", "暂停"}


def test_popup_and_facets(client) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/maps/data/projects.geojson", params={"plan": "zhuzhou-2018"}).json()["features"][0]
    popup = client.get(f"/maps/data/projects/{first['id']}.json").json()
    assert popup["id"] == first["id"] and popup["title"] and popup["status"] == first["properties"]["s"]
    facets = client.get("/maps/data/facets.json").json()
    assert "zhuzhou-2018" in {p["id"] for p in facets["plans"]}
    assert facets["periods"] == sorted(facets["periods"])


@pytest.mark.parametrize(
    "path",
    [
        "/maps/projects/987654321",
        "/maps/data/projects/987654321.json",
        "/maps/data/projects/987654321/features.geojson",
        "/maps/data/layers/secrets.geojson",
        "/maps/assets/../../settings.py",
    ],
)
def test_missing_things_are_404(client, path: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_overlay_layers_are_geojson(client) -> None:  # type: ignore[no-untyped-def]
    for layer in ("green_heart", "qingshuitang", "districts", "roads", "streams"):
        r = client.get(f"/maps/data/layers/{layer}.geojson")
        assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"


def test_projects_geojson_is_cached_until_the_data_changes(client, auth, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.progress.world import build_world, drop_world

    world = build_world(engine, "cache")
    try:
        params = {"plan": world.plan, "as_of": "2018-06"}
        first = client.get("/maps/data/projects.geojson", params=params)
        etag = first.headers["etag"]
        assert (
            client.get("/maps/data/projects.geojson", params=params, headers={"If-None-Match": etag}).status_code == 304
        )
        point = next(f for f in first.json()["features"] if f["id"] == world.ids["point"])
        assert point["properties"]["s"] == "正常推进"  # nothing reported by June, no milestone, deadline 30 June
        report = {"period": "2018-05", "status": "已完成", "percent": 100}
        assert (
            client.post(
                f"/projects/{world.ids['point']}/progress", json=report, headers=auth["coordinator"]
            ).status_code
            == 201
        )
        second = client.get("/maps/data/projects.geojson", params=params, headers={"If-None-Match": etag})
        assert second.status_code == 200 and second.headers["etag"] != etag
        point = next(f for f in second.json()["features"] if f["id"] == world.ids["point"])
        assert (point["properties"]["s"], point["properties"]["p"]) == ("已完成", 100)
    finally:
        drop_world(engine, world)
