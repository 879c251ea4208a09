"""One write must not exhaust the database: every geometry entering is bounded, and reads never hand an
unbounded stored row to GEOS (service.common.geometry_guard, decision 0093)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.database import session_scope
from service.progress.usecases import import_reports
from service.settings import get_settings
from tests.security.geometry_helpers import fetch, state, tile_of

# a line running back and forth over the same 1 km, a million times: quadratic for topology-preserving GEOS work
MILLION_VERTEX_LINE = (
    "ST_SetSRID(ST_MakeLine(ARRAY(SELECT ST_MakePoint(113.1 + (i % 2) * 0.01 + i * 1e-9, 27.8)"
    " FROM generate_series(1, 1000000) i)), 4326)"
)


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def nested_collection(levels: int) -> dict:
    geometry: dict = {"type": "Point", "coordinates": [113.1, 27.8]}
    for _ in range(levels):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


def nested_json(levels: int) -> str:
    """The same as JSON text (the test client's encoder recurses too)."""
    point = '{"type": "Point", "coordinates": [113.1, 27.8]}'
    return '{"type": "GeometryCollection", "geometries": [' * levels + point + "]}" * levels


def send(client, method: str, url: str, headers: dict, body: str):  # type: ignore[no-untyped-def]
    return client.request(method, url, content=body, headers={**headers, "content-type": "application/json"})


def nested_wkt(levels: int) -> str:
    return "GEOMETRYCOLLECTION (" * levels + "POINT (113.1 27.8)" + ")" * levels


def test_a_million_vertex_row_stored_before_leaves_maps_tiles_and_pages_answering(live_server, slipped_in) -> None:  # type: ignore[no-untyped-def]
    slipped_in.store(MILLION_VERTEX_LINE, precision=1)

    data = fetch(live_server, "/maps/data/projects.geojson")
    assert data.status_code == 200, data.text[:300]
    feature = next(f for f in data.json()["features"] if f["id"] == slipped_in.id)
    # drawn as its bounding box, never simplified: two dimensions of a 1 km x 0 box
    assert feature["geometry"]["type"] in ("Polygon", "LineString")
    assert len(json.dumps(feature["geometry"])) < 500

    z, row, col = tile_of(113.105, 27.8, 12)
    tile = fetch(live_server, f"/collections/projects/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert tile.status_code == 200 and len(tile.content) > 0

    page = fetch(live_server, f"/collections/projects/items?id={slipped_in.id}")
    assert page.status_code == 200, page.text[:300]
    (item,) = page.json()["features"]
    assert item["id"] == slipped_in.id and item["geometry"] is None  # over max_vertices: not served

    stats = fetch(live_server, "/stats?by=category")
    assert stats.status_code == 200, stats.text[:300]


def test_put_location_over_the_vertex_limit_is_413_and_changes_nothing(
    client, auth, engine, project_id, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_vertices", 50)
    line = {"type": "LineString", "coordinates": [[113.1 + i * 1e-4, 27.8] for i in range(51)]}
    before = state(engine, project_id)
    r = client.put(f"/projects/{project_id}/location", json={"geometry": line}, headers=auth["editor"])
    body = problem(r, 413)
    assert body["fault"] == "too_many_vertices" and "over the limit of 50" in body["detail"]
    assert body["pointer"].startswith("/geometry/coordinates")
    assert state(engine, project_id) == before


def test_put_location_with_too_many_parts_is_413(client, auth, engine, project_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_geometry_parts", 5)
    points = {"type": "MultiPoint", "coordinates": [[113.1 + i * 1e-3, 27.8] for i in range(6)]}
    before = state(engine, project_id)
    body = problem(
        client.put(f"/projects/{project_id}/location", json={"geometry": points}, headers=auth["editor"]), 413
    )
    assert body["fault"] == "too_many_parts" and "limit of 5" in body["detail"]
    assert state(engine, project_id) == before


def test_put_location_with_too_many_rings_is_413(client, auth, engine, project_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_geometry_rings", 2)
    outer = [[113.0, 27.0], [113.2, 27.0], [113.2, 27.2], [113.0, 27.2], [113.0, 27.0]]
    holes = [
        [[113.01 + k * 0.05, 27.01], [113.02 + k * 0.05, 27.01], [113.02 + k * 0.05, 27.02], [113.01 + k * 0.05, 27.01]]
        for k in range(2)
    ]
    polygon = {"type": "Polygon", "coordinates": [outer, *holes]}
    before = state(engine, project_id)
    body = problem(
        client.put(f"/projects/{project_id}/location", json={"geometry": polygon}, headers=auth["editor"]), 413
    )
    assert body["fault"] == "too_many_rings"
    assert state(engine, project_id) == before


def test_nested_geometry_collection_on_screening_is_400_not_500(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = send(client, "POST", "/screening", auth["inspector"], '{"geometry": ' + nested_json(900) + "}")
    body = problem(r, 400)
    assert body["fault"] == "too_deep" and "GeometryCollections nested at most 4 deep" in body["detail"]


def test_a_little_too_nested_collection_names_depth_limit_and_place(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/screening", json={"geometry": nested_collection(5)}, headers=auth["inspector"])
    body = problem(r, 400)
    assert body["fault"] == "too_deep" and "5 levels of nested GeometryCollection" in body["detail"]
    assert "limit of 4" in body["detail"]
    assert body["pointer"] == "/geometry" + "/geometries/0" * 4


def test_nested_geometry_collection_in_wkt_is_400(client, auth) -> None:  # type: ignore[no-untyped-def]
    for levels in (5, 900):
        body = problem(client.post("/screening", json={"wkt": nested_wkt(levels)}, headers=auth["inspector"]), 400)
        assert body["fault"] == "too_deep" and body["parameter"] == "wkt"
        assert "limit of 4" in body["detail"]


def test_wkt_with_too_many_parts_is_413(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_geometry_parts", 5)
    wkt = "MULTIPOINT (" + ", ".join(f"({113.1 + i * 1e-3} 27.8)" for i in range(6)) + ")"
    body = problem(client.post("/screening", json={"wkt": wkt}, headers=auth["inspector"]), 413)
    assert body["fault"] == "too_many_parts" and body["parameter"] == "wkt" and "limit of 5" in body["detail"]


def test_nested_collection_on_put_location_is_400_and_changes_nothing(client, auth, engine, project_id) -> None:  # type: ignore[no-untyped-def]
    before = state(engine, project_id)
    for levels, where in ((5, "/geometry" + "/geometries/0" * 4), (900, None)):
        body = '{"geometry": ' + nested_json(levels) + "}"
        r = send(client, "PUT", f"/projects/{project_id}/location", auth["editor"], body)
        body = problem(r, 400)
        assert body["fault"] == "too_deep", body
        assert where is None or body["pointer"] == where
    assert state(engine, project_id) == before


def test_nested_collection_as_done_geom_is_400(client, auth, engine, project_id) -> None:  # type: ignore[no-untyped-def]
    before = state(engine, project_id)
    report = '{"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": ' + nested_json(900) + "}"
    body = problem(send(client, "POST", f"/projects/{project_id}/progress", auth["coordinator"], report), 400)
    assert body["fault"] == "too_deep"
    assert state(engine, project_id) == before


def test_done_geom_over_the_vertex_limit_is_413(client, auth, engine, project_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_vertices", 50)
    line = {"type": "LineString", "coordinates": [[113.1 + i * 1e-4, 27.8] for i in range(51)]}
    before = state(engine, project_id)
    report = {"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": line}
    body = problem(client.post(f"/projects/{project_id}/progress", json=report, headers=auth["coordinator"]), 413)
    assert body["fault"] == "too_many_vertices" and body["pointer"].startswith("/done_geom")
    assert state(engine, project_id) == before


def test_import_names_a_nested_or_oversized_done_geom(engine, project_id, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_vertices", 50)
    deep_json = nested_json(900).replace('"', '""')
    long_wkt = "LINESTRING (" + ", ".join(f"{113.1 + i * 1e-5} 27.8" for i in range(200)) + ")"
    path = tmp_path / "reports.csv"
    path.write_text(
        "project_id,period,status,percent,done_geom\n"
        f'{project_id},2018-05,推进中,10,"{nested_wkt(900)}"\n'
        f'{project_id},2018-06,推进中,20,"{deep_json}"\n'
        f'{project_id},2018-07,推进中,30,"{long_wkt}"\n',
        encoding="utf-8",
    )
    before = state(engine, project_id)
    with session_scope(engine) as session:
        result = import_reports(session, path, "test")
    by_row = {e.row: e for e in result.errors}
    assert sorted(by_row) == [2, 3, 4] and not result.written
    assert all(e.column == "done_geom" for e in result.errors)
    assert "GEOMETRYCOLLECTION" in by_row[2].reason and "limit of 4" in by_row[2].reason
    assert "nests more than" in by_row[3].reason
    assert "limit of 50" in by_row[4].reason
    assert state(engine, project_id) == before


@pytest.mark.parametrize(("field", "value"), [("percent", True), ("investment_wan", False), ("percent", False)])
def test_booleans_are_not_numbers_in_progress_reports(client, auth, engine, project_id, field, value) -> None:  # type: ignore[no-untyped-def]
    report = {"period": "2018-05", "status": "推进中", "percent": 10, field: value}
    before = state(engine, project_id)
    body = problem(client.post(f"/projects/{project_id}/progress", json=report, headers=auth["coordinator"]), 400)
    assert field in body["detail"] and "not true or false" in body["detail"]
    assert state(engine, project_id) == before


def test_booleans_are_not_numbers_in_other_write_bodies(client, auth, engine, project_id) -> None:  # type: ignore[no-untyped-def]
    point = {"type": "Point", "coordinates": [113.1, 27.8]}
    before = state(engine, project_id)
    r = client.put(
        f"/projects/{project_id}/location", json={"geometry": point, "precision": True}, headers=auth["editor"]
    )
    assert "precision" in problem(r, 400)["detail"]
    r = client.put(
        f"/projects/{project_id}/location", json={"features": [{"layer": "roads", "id": True}]}, headers=auth["editor"]
    )
    assert "id" in problem(r, 400)["detail"]
    assert state(engine, project_id) == before
    r = client.post("/screening", json={"wkt": "POINT (113.1 27.8)", "buffer_m": True}, headers=auth["inspector"])
    assert "buffer_m" in problem(r, 400)["detail"]
    r = client.post("/screening/batch", json={"project_ids": [True]}, headers=auth["inspector"])
    assert "project_ids" in problem(r, 400)["detail"]
