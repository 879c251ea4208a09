"""Integrity of stored coordinates: ranges and axis order checked on every write path (one shared guard),
and reprojected reads that survive a bad row stored before the guard (decision 0093)."""

from __future__ import annotations

import pytest

from tests.security.geometry_helpers import fetch, state, tile_of

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_put_location_with_swapped_axes_is_422_with_the_swapped_reading(client, auth, engine, project_id) -> None:  # type: ignore[no-untyped-def]
    before = state(engine, project_id)
    point = {"type": "Point", "coordinates": [27.8, 113.1]}  # latitude first
    body = problem(
        client.put(f"/projects/{project_id}/location", json={"geometry": point}, headers=auth["editor"]), 422
    )
    assert body["fault"] == "swapped_axes" and body["pointer"] == "/geometry"
    assert (
        "look swapped" in body["detail"] and "longitude 113.1" in body["detail"] and "latitude 27.8" in body["detail"]
    )
    assert body["swapped_reading"] == [113.1, 27.8, 113.1, 27.8]
    assert state(engine, project_id) == before


@pytest.mark.parametrize(
    ("coordinates", "fault"),
    [([113.1, 127.8], "out_of_range"), ([213.1, 27.8], "out_of_range"), ([2.35, 48.85], "outside_service_area")],
)
def test_put_location_out_of_range_or_outside_the_service_area_is_422(
    client, auth, engine, project_id, coordinates, fault
) -> None:  # type: ignore[no-untyped-def]
    before = state(engine, project_id)
    point = {"type": "Point", "coordinates": coordinates}
    body = problem(
        client.put(f"/projects/{project_id}/location", json={"geometry": point}, headers=auth["editor"]), 422
    )
    assert body["fault"] == fault and body["pointer"] == "/geometry"
    assert state(engine, project_id) == before


def test_done_geom_with_swapped_axes_is_422(client, auth, engine, project_id) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "UPDATE projects SET geom = ST_GeomFromText('LINESTRING(113.1 27.8, 113.11 27.8)', 4326) WHERE id = :id"
            ),
            {"id": project_id},
        )
    before = state(engine, project_id)
    line = {"type": "LineString", "coordinates": [[27.8, 113.1], [27.8, 113.105]]}
    report = {"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": line}
    body = problem(client.post(f"/projects/{project_id}/progress", json=report, headers=auth["coordinator"]), 422)
    assert body["fault"] == "swapped_axes" and body["pointer"] == "/done_geom"
    assert "longitude 113.1 .. 113.105" in body["detail"]
    assert state(engine, project_id) == before


def test_screening_uses_the_shared_guard_for_swapped_axes(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = problem(client.post("/screening", json={"wkt": "POINT (27.8 113.1)"}, headers=auth["inspector"]), 422)
    assert body["fault"] == "swapped_axes" and body["swapped_reading"] == [113.1, 27.8, 113.1, 27.8]
    outside = problem(client.post("/screening", json={"wkt": "POINT (2.35 48.85)"}, headers=auth["inspector"]), 422)
    assert outside["fault"] == "outside_service_area" and outside["parameter"] == "wkt"


@pytest.mark.parametrize("code", [3857, 4547, 4326])
def test_reprojected_pages_survive_a_row_with_latitude_113(client, live_server, slipped_in, code) -> None:  # type: ignore[no-untyped-def]
    slipped_in.store("ST_SetSRID(ST_MakePoint(27.8, 113.1), 4326)", precision=1)  # swapped axes, stored before
    r = fetch(live_server, f"/collections/projects/items?crs={EPSG.format(code)}&limit=1000")
    assert r.status_code == 200, r.text[:300]
    features = {f["id"]: f for f in r.json()["features"]}
    assert features[slipped_in.id]["geometry"] is None  # cannot be right in any CRS: served without geometry
    assert sum(f["geometry"] is not None for f in features.values()) > 10  # every other row as before
    one = client.get(f"/collections/projects/items/{slipped_in.id}?crs={EPSG.format(code)}")
    assert one.status_code == 200 and one.json()["geometry"] is None


def test_tiles_stats_and_map_data_survive_a_line_reaching_latitude_113(live_server, slipped_in) -> None:  # type: ignore[no-untyped-def]
    slipped_in.store("ST_GeomFromText('LINESTRING(113.1 27.8, 113.2 113.1)', 4326)", precision=1)
    z, row, col = tile_of(113.1, 27.8, 8)
    tile = fetch(live_server, f"/collections/projects/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert tile.status_code == 200, tile.text[:300]
    stats = fetch(live_server, "/stats?by=category")
    assert stats.status_code == 200, stats.text[:300]
    data = fetch(live_server, "/maps/data/projects.geojson")
    assert data.status_code == 200 and any(f["id"] == slipped_in.id for f in data.json()["features"])
