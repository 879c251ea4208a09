"""The ``cases`` OGC collection: offered only as the caller's rights allow, read by GDAL's OAPIF driver with a
bearer token (and refused without one), never served from another caller's cached answer."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.case_list.conftest import TAG, CaseWorld, number
from tests.ogc.gdal_client import READER

FIELDS = {"number", "kind", "title", "status", "overdue", "severity", "responsible_unit", "deadline", "found_on",
          "verdict", "city"}  # fmt: skip


def gdal_read(source: str, token: str | None, **options: Any) -> Any:
    """pyogrio in a child process (as tests/ogc/gdal_client.py), sending ``Authorization: Bearer`` when given."""
    env = {"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"}
    if token:
        env["GDAL_HTTP_AUTH"], env["GDAL_HTTP_BEARER"] = "BEARER", token
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "frames.pickle"
        done = subprocess.run(
            [sys.executable, "-c", READER, str(target), pickle.dumps([(source, options)]).hex()],
            capture_output=True, text=True, timeout=240, env=env,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"GDAL failed: {done.stderr[-2000:]}")
        with target.open("rb") as handle:
            return pickle.load(handle)[0]


def collection_ids(c: TestClient, headers: dict[str, str] | None = None) -> set[str]:
    response = c.get("/collections", headers=headers or {})
    assert response.status_code == 200
    return {entry["id"] for entry in response.json()["collections"]}


def test_anonymous_and_viewer_are_not_offered_cases(world: CaseWorld, client: TestClient, auth: dict) -> None:
    anonymous = TestClient(client.app)
    assert "cases" not in collection_ids(anonymous) and "roads" in collection_ids(anonymous)
    assert "cases" not in collection_ids(anonymous, auth["viewer"])
    for path in ("/collections/cases", "/collections/cases/items", f"/collections/cases/items/{world.ids['a']}"):
        assert anonymous.get(path).status_code == 404, path
        assert anonymous.get(path, headers=auth["viewer"]).status_code == 404, path


def test_inspector_reads_every_case_with_its_fields(world: CaseWorld, client: TestClient, auth: dict) -> None:
    assert "cases" in collection_ids(client, auth["inspector"]) and "cases" in collection_ids(client, auth["gis"])
    queryables = client.get("/collections/cases/queryables", headers=auth["gis"]).json()
    assert set(queryables["properties"]) >= FIELDS
    items = client.get("/collections/cases/items", params={"limit": 500}, headers=auth["inspector"]).json()
    mine = {f["id"]: f["properties"] for f in items["features"] if TAG in f["properties"]["number"]}
    assert set(mine) == set(world.ids.values())
    a = mine[world.ids["a"]]
    assert set(a) == FIELDS  # no description, no finder, no file
    assert a["number"] == number("a") and a["overdue"] is True and a["verdict"] == "prohibited"
    assert a["responsible_unit"] == f"案件测试district{TAG}" and a["city"] == "株洲市"


def test_editor_reads_their_units_cases_only_and_caches_do_not_mix(
    world: CaseWorld, client: TestClient, auth: dict, browsers: dict[str, TestClient]
) -> None:
    query = {"limit": 500, "filter": f"number LIKE '%{TAG}%'"}
    everything = client.get("/collections/cases/items", params=query, headers=auth["inspector"])
    assert everything.status_code == 200 and everything.json()["numberReturned"] == len(world.ids)
    # the same URL right after, by the editor (signed in by browser session): not the inspector's cached page
    editor = browsers["editor"].get("/collections/cases/items", params=query)
    assert world.keys([f["id"] for f in editor.json()["features"]]) == {"a", "b", "c", "f", "h"}
    assert browsers["viewer"].get("/collections/cases/items", params=query).status_code == 404
    other = browsers["editor"].get(f"/collections/cases/items/{world.ids['d']}")
    assert other.status_code == 404  # another unit's case is not there at all
    assert browsers["editor"].get(f"/collections/cases/items/{world.ids['b']}").status_code == 200
    tiles = TestClient(client.app).get("/collections/cases/tiles/WebMercatorQuad/tilejson.json")
    assert tiles.status_code == 404


def test_gdal_oapif_with_a_bearer_token_and_without(world: CaseWorld, live_server: str, tokens: dict) -> None:
    frame = gdal_read(f"OAPIF:{live_server}/collections/cases", tokens["inspector"], fid_as_index=True)
    ours = frame[frame["number"].str.contains(TAG)]
    assert set(ours.index) == set(world.ids.values())
    assert set(frame.columns) >= FIELDS
    row = ours.loc[world.ids["c"]]
    assert row["status"] == "整改中" and row["severity"] == "一般" and not row["overdue"]
    assert row.geometry.x == 113.1 and row.geometry.y == 27.85
    try:
        gdal_read(f"OAPIF:{live_server}/collections/cases", None)
    except AssertionError as refused:
        assert "cases" in str(refused) or "404" in str(refused) or "failed" in str(refused).lower()
    else:
        raise AssertionError("GDAL read the cases without a token")
