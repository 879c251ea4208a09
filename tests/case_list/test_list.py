"""GET /cases, /cases.json and /cases/map.geojson: filters, paging, visibility per role, escaping, bounds."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.case_list.conftest import HOSTILE, TAG, CaseWorld, number


def listed(c: TestClient, **params: str) -> dict:
    response = c.get("/cases.json", params={"q": TAG, "size": "200", **params})
    assert response.status_code == 200, response.text
    return response.json()


def keys(world: CaseWorld, body: dict) -> set[str]:
    return world.keys([item["id"] for item in body["items"]])


def test_inspector_sees_every_case_newest_first(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    body = listed(browsers["inspector"])
    assert keys(world, body) == set(world.ids)
    assert body["total"] == len(world.ids)
    found = [item["found_on"] for item in body["items"]]
    assert found == sorted(found, reverse=True)
    first = body["items"][0]
    assert first["number"] == number("g") and first["href"] == f"/cases/{world.ids['g']}"


def test_editor_sees_their_unit_and_the_units_under_it(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    body = listed(browsers["editor"])
    assert keys(world, body) == {"a", "b", "c", "f", "h"}  # district and town, not "other", not unassigned
    response = browsers["editor"].get(f"/cases/map.geojson?q={TAG}")
    assert {f["id"] for f in response.json()["features"]} == {world.ids[k] for k in "abcfh"}


def test_viewer_and_anonymous_see_none(world: CaseWorld, browsers: dict[str, TestClient], client: TestClient) -> None:
    assert listed(browsers["viewer"])["total"] == 0
    page = browsers["viewer"].get("/cases")
    assert page.status_code == 200 and "不能查看案件" in page.text and number("a") not in page.text
    fc = browsers["viewer"].get("/cases/map.geojson").json()
    assert fc["features"] == [] and fc["numberMatched"] == 0 and "bbox" not in fc
    anonymous = TestClient(client.app, follow_redirects=False)
    assert anonymous.get("/cases.json").status_code == 401
    assert anonymous.get("/cases/map.geojson").status_code == 401
    redirect = anonymous.get("/cases?status=整改中")
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login")


def test_filters(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    c = browsers["inspector"]
    assert keys(world, listed(c, kind="违法违规")) == {"b", "f", "i"}
    assert keys(world, listed(c, status="整改中")) == {"b", "c", "i"}
    assert keys(world, listed(c, status="逾期")) == {"a", "b"}  # open and past the deadline
    assert keys(world, listed(c, unit=str(world.units["district"]))) == {"a", "b", "c", "f", "h"}  # with the town
    assert keys(world, listed(c, unit=str(world.units["town"]))) == {"b", "h"}
    assert keys(world, listed(c, city="湘潭市")) == {"d", "i"}
    assert keys(world, listed(c, severity="严重")) == {"a", "e", "i"}
    assert keys(world, listed(c, verdict="inside")) == {"a", "b", "e", "i"}
    assert keys(world, listed(c, verdict="outside")) == {"c", "d", "g", "h"}
    assert keys(world, listed(c, verdict="unscreened")) == {"f"}
    assert keys(world, listed(c, verdict="prohibited")) == {"a", "i"}
    from datetime import date, timedelta

    since = (date.today() - timedelta(days=20)).isoformat()
    until = (date.today() - timedelta(days=5)).isoformat()
    assert keys(world, listed(c, found_from=since, found_to=until)) == {"c", "d", "f", "h"}
    assert keys(world, listed(c, q="")) == set(world.ids)
    body = c.get("/cases.json", params={"q": "渣土"}).json()
    assert world.ids["d"] in [item["id"] for item in body["items"]]
    combined = listed(c, unit=str(world.units["district"]), status="整改中")
    assert keys(world, combined) == {"b", "c"}


def test_the_map_filters_as_the_list_does(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    c = browsers["inspector"]
    fc = c.get("/cases/map.geojson", params={"q": TAG, "status": "逾期"}).json()
    assert {f["id"] for f in fc["features"]} == {world.ids["a"], world.ids["b"]}
    assert all(f["properties"]["o"] == 1 for f in fc["features"])
    by_id = {f["id"]: f for f in c.get("/cases/map.geojson", params={"q": TAG}).json()["features"]}
    assert by_id[world.ids["c"]]["properties"] == {"n": number("c"), "s": "整改中", "o": 0, "v": "一般"}
    assert by_id[world.ids["c"]]["geometry"] == {"type": "Point", "coordinates": [113.1, 27.85]}


def test_the_map_geojson_is_bounded(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    c = browsers["inspector"]
    fc = c.get("/cases/map.geojson", params={"q": TAG}).json()
    assert fc["numberMatched"] == fc["numberReturned"] == len(world.ids)
    assert fc["bbox"] == [112.9, 27.8, 113.12, 28.2]  # what is sent, west south east north
    capped = c.get("/cases/map.geojson", params={"q": TAG, "limit": "3"}).json()
    assert capped["numberMatched"] == len(world.ids) and capped["numberReturned"] == len(capped["features"]) == 3
    assert [f["id"] for f in capped["features"]] == [world.ids[k] for k in ("g", "h", "f")]  # the newest
    box = c.get("/cases/map.geojson", params={"q": TAG, "bbox": "113.0,27.79,113.07,27.9"}).json()
    assert {f["id"] for f in box["features"]} == {world.ids["a"], world.ids["b"]}
    assert box["bbox"] == [113.05, 27.8, 113.06, 27.81]
    assert c.get("/cases/map.geojson", params={"limit": "100001"}).status_code == 400
    bad = c.get("/cases/map.geojson", params={"bbox": "28,113,27,112"})
    assert bad.status_code == 400 and "bbox" in bad.json()["detail"]


def test_the_map_is_gzipped_and_never_shared(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    response = browsers["inspector"].get("/cases/map.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    assert "private" in response.headers["cache-control"]
    json.loads(response.content)  # httpx has unzipped it


def test_paging(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    c = browsers["inspector"]
    seen: list[int] = []
    body = listed(c, size="4")
    assert body["pages"] == 3 and body["links"]["prev"] is None
    while True:
        assert body["total"] == len(world.ids)
        seen += [item["id"] for item in body["items"]]
        if not body["links"]["next"]:
            break
        response = c.get(body["links"]["next"])
        assert response.status_code == 200
        body = response.json()
    assert sorted(seen) == sorted(world.ids.values()) and len(seen) == len(set(seen))
    page = c.get("/cases", params={"q": TAG, "size": "4", "page": "2"})
    assert "第 2 / 3 页" in page.text and 'rel="prev"' in page.text and 'rel="next"' in page.text


def test_the_page_shows_rows_linked_and_escaped(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    page = browsers["inspector"].get("/cases", params={"q": TAG})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;绿心违建" in page.text
    assert f'href="/cases/{world.ids["b"]}"' in page.text
    assert 'id="case-map"' in page.text and "/cases/map.geojson" in page.text
    partial = browsers["inspector"].get("/cases", params={"q": TAG, "status": "逾期"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'id="case-table"' in partial.text
    assert f'data-map-query="status=%E9%80%BE%E6%9C%9F&amp;q={TAG}"' in partial.text
    assert partial.text.count("<tr data-id") == 2


def test_accept_json_on_the_page_url(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    response = browsers["editor"].get("/cases", params={"q": TAG}, headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert keys(world, response.json()) == {"a", "b", "c", "f", "h"}


def test_bad_filters_are_a_clear_400(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    c = browsers["inspector"]
    for params, field in (
        ({"status": "完成"}, "status"),
        ({"kind": "x"}, "kind"),
        ({"verdict": "maybe"}, "verdict"),
        ({"unit": "abc"}, "unit"),
        ({"found_from": "2026-13-01"}, "found_from"),
        ({"found_from": "2026-05-01", "found_to": "2026-04-01"}, "found_from"),
        ({"page": "0"}, "page"),
        ({"size": "5000"}, "size"),
        ({"q": "字" * 201}, "q"),
    ):
        response = c.get("/cases.json", params=params)
        assert response.status_code == 400, (params, response.text)
        body = response.json()
        assert body["parameter"] == field and " / " in body["detail"], body
