"""The progress map's case layer: offered on the (shared, cached) page, off by default; its data is per caller."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.case_list.conftest import TAG, CaseWorld


def page_config(c: TestClient) -> dict:
    page = c.get("/maps/progress?basemap=none")
    assert page.status_code == 200
    found = re.search(r"XM\.progressMap\([^,]+, [^,]+, (\{.*\})\);", page.text)
    assert found, "the page calls XM.progressMap with its config"
    return json.loads(found.group(1))


def mine(world: CaseWorld, fc: dict) -> set[str]:
    return world.keys([f["id"] for f in fc["features"]])


def test_the_toggle_is_offered_off_by_default(world: CaseWorld, browsers: dict[str, TestClient]) -> None:
    config = page_config(browsers["viewer"])
    assert config["cases"] == {"label": "案件（按状态，红圈为逾期）", "show": False}
    assert page_config(browsers["inspector"])["cases"]["show"] is False
    script = browsers["viewer"].get("/maps/assets/progress_map.js").text
    assert "/maps/data/cases.geojson" in script and "caseLayer" in script


def test_the_layer_is_empty_for_a_viewer_and_anonymous(
    world: CaseWorld, browsers: dict[str, TestClient], client: TestClient
) -> None:
    fc = browsers["viewer"].get("/maps/data/cases.geojson").json()
    assert fc["type"] == "FeatureCollection" and fc["features"] == [] and fc["numberMatched"] == 0
    anonymous = TestClient(client.app)
    assert anonymous.get("/maps/data/cases.geojson").json()["features"] == []


def test_each_caller_gets_their_own_cases_never_a_cached_answer(
    world: CaseWorld, browsers: dict[str, TestClient]
) -> None:
    inspector = browsers["inspector"].get("/maps/data/cases.geojson")
    assert mine(world, inspector.json()) == set(world.ids)
    editor = browsers["editor"].get("/maps/data/cases.geojson")  # right after: a shared cache would answer here
    assert mine(world, editor.json()) == {"a", "b", "c", "f", "h"}
    viewer = browsers["viewer"].get(
        "/maps/data/cases.geojson", headers={"If-None-Match": inspector.headers.get("etag", "*")}
    )
    assert viewer.status_code == 200 and viewer.json()["features"] == []
    assert "private" in editor.headers["cache-control"] and "Cookie" in editor.headers["vary"]
    by_id = {f["id"]: f["properties"] for f in inspector.json()["features"]}
    assert by_id[world.ids["a"]]["o"] == 1 and by_id[world.ids["a"]]["s"] == "交办"  # overdue marked
    assert by_id[world.ids["e"]] == {"n": f"测试〔{TAG}〕e号", "s": "销号", "o": 0, "v": "严重"}
