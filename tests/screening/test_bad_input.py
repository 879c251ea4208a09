"""Bad input: each fault a 4xx problem+json naming what is wrong and where; repairs are reported."""

from __future__ import annotations

import json

import pytest
import shapely

from service.settings import get_settings
from tests.screening.conftest import ScreeningZones, metric_box, metric_point


def post(client, auth, body):  # type: ignore[no-untyped-def]
    return client.post("/screening", json=body, headers=auth["inspector"])


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_self_intersecting_polygon_is_repaired_and_said_so(client, auth, zones: ScreeningZones) -> None:
    a, b, c, d = (metric_point(*xy) for xy in ((-500, -500), (500, 500), (500, -500), (-500, 500)))
    bowtie = {"type": "Polygon", "coordinates": [[[p.x, p.y] for p in (a, b, c, d, a)]]}
    r = post(client, auth, {"geometry": bowtie, "date": "2018-06-01"})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert any("Self-intersection" in rep for rep in answer["input"]["repairs"])
    assert answer["input"]["geometry"]["type"] == "MultiPolygon"
    assert answer["verdict"] == "prohibited"


def test_unclosed_ring_names_the_ring(client, auth) -> None:
    ring = [[113.8, 26.9], [113.81, 26.9], [113.81, 26.91], [113.8, 26.91]]
    body = problem(post(client, auth, {"geometry": {"type": "Polygon", "coordinates": [ring]}}), 422)
    assert "not closed" in body["detail"] and body["pointer"] == "/geometry/coordinates/0"


def test_unclosed_ring_in_wkt(client, auth) -> None:
    body = problem(post(client, auth, {"wkt": "POLYGON ((113.8 26.9, 113.81 26.9, 113.81 26.91, 113.8 26.91))"}), 422)
    assert "not closed" in body["detail"] and body["parameter"] == "wkt"


def test_nan_coordinate(client, auth) -> None:
    raw = '{"geometry": {"type": "Point", "coordinates": [NaN, 26.9]}}'
    r = client.post("/screening", content=raw, headers={**auth["inspector"], "content-type": "application/json"})
    body = problem(r, 422)
    assert "NaN" in body["detail"] and body["pointer"] == "/geometry/coordinates"


@pytest.mark.parametrize("coords", [[213.8, 26.9], [113.8, 96.9]])
def test_out_of_range(client, auth, coords) -> None:  # type: ignore[no-untyped-def]
    body = problem(post(client, auth, {"geometry": {"type": "Point", "coordinates": coords}}), 422)
    assert "out of range" in body["detail"]


def test_swapped_lat_lon_is_flagged_not_accepted(client, auth) -> None:
    body = problem(post(client, auth, {"geometry": {"type": "Point", "coordinates": [27.9739, 113.0171]}}), 422)
    assert "swapped" in body["detail"] and body["fault"] == "swapped_axes"
    line = {"type": "LineString", "coordinates": [[27.97, 113.01], [27.98, 113.02]]}
    assert problem(post(client, auth, {"geometry": line}), 422)["fault"] == "swapped_axes"


def test_degrees_sent_as_epsg_4547(client, auth) -> None:
    body = problem(post(client, auth, {"wkt": "POINT (113.8 26.9)", "crs": "EPSG:4547"}), 422)
    assert "degrees" in body["detail"]


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": []},
        {"type": "FeatureCollection", "features": []},
        {"type": "Feature", "geometry": None, "properties": {}},
    ],
)
def test_empty_geometry(client, auth, geometry) -> None:  # type: ignore[no-untyped-def]
    assert "empty" in problem(post(client, auth, {"geometry": geometry}), 422)["detail"]


def test_empty_wkt(client, auth) -> None:
    assert "empty" in problem(post(client, auth, {"wkt": "POLYGON EMPTY"}), 422)["detail"]


def test_vertex_limit(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_vertices", 10)
    site = shapely.geometry.mapping(metric_box(0, 0, 1000, 1000))  # segmentized every 200 m: 21 vertices
    body = problem(post(client, auth, {"geometry": site}), 413)
    assert "over the limit of 10" in body["detail"] and body["fault"] == "too_many_vertices"


def test_unknown_crs(client, auth) -> None:
    body = problem(post(client, auth, {"wkt": "POINT (113.8 26.9)", "crs": "EPSG:999999"}), 400)
    assert body["parameter"] == "crs" and "EPSG:4547" in body["detail"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 400, "exactly one"),
        ({"wkt": "POINT (113.8 26.9)", "geometry": {"type": "Point", "coordinates": [1, 2]}}, 400, "exactly one"),
        ({"wkt": "POINT (113.8"}, 400, "WKT"),
        ({"geometry": {"type": "Circle", "coordinates": [1, 2]}}, 400, "Circle"),
        ({"geometry": {"type": "Point", "coordinates": ["a", 2]}}, 400, "not a number"),
        ({"wkt": "POINT (113.8 26.9)", "buffer_m": -5}, 422, "buffer_m"),
        ({"wkt": "POINT (113.8 26.9)", "date": "2018-02-30"}, 422, "date"),
        ({"wkt": "POINT (113.8 26.9)", "category": "spaceport"}, 400, "category"),
        ({"wkt": "POINT (113.8 26.9)", "colour": "red"}, 400, "colour"),
    ],
)
def test_malformed_requests(client, auth, body, status, needle) -> None:  # type: ignore[no-untyped-def]
    assert needle in problem(post(client, auth, body), status)["detail"]


def test_not_json(client, auth) -> None:
    r = client.post("/screening", content="{oops", headers={**auth["inspector"], "content-type": "application/json"})
    assert "not valid JSON" in problem(r, 400)["detail"]
    r = client.post("/screening", content=json.dumps([1]), headers={**auth["inspector"], "content-type": "text/csv"})
    problem(r, 415)
