"""Part 3: CQL2 text and JSON filters, translated to bound-parameter SQL over queryables only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _keys(client: TestClient, collection: str, **params: Any) -> list[str]:
    response = client.get(f"/collections/{collection}/items", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return sorted(f["properties"]["key"] for f in response.json()["features"] if "ogc-test" in f["properties"]["key"])


@pytest.mark.parametrize(
    ("text_filter", "expected"),
    [
        ("name = '株冶路'", ["ogc-test-road-1"]),
        ("name <> '株冶路' AND source = 'ogc test'", ["ogc-test-road-2", "ogc-test-road-3"]),
        ("accuracy_m > 40", ["ogc-test-road-2"]),
        ("accuracy_m BETWEEN 20 AND 60 AND source = 'ogc test'", ["ogc-test-road-1", "ogc-test-road-2"]),
        ("name LIKE '清%' AND source = 'ogc test'", ["ogc-test-road-2", "ogc-test-road-3"]),
        ("name IN ('株冶路', '清霞路')", ["ogc-test-road-1", "ogc-test-road-3"]),
        ("accuracy_m IS NULL AND source = 'ogc test'", ["ogc-test-road-3"]),
        ("NOT (accuracy_m IS NULL) AND source = 'ogc test'", ["ogc-test-road-1", "ogc-test-road-2"]),
        ("CASEI(key) = casei('OGC-TEST-ROAD-2')", ["ogc-test-road-2"]),
        (
            "S_INTERSECTS(geometry, "
            "POLYGON((113.05 27.86, 113.075 27.86, 113.075 27.875, 113.05 27.875, 113.05 27.86)))",
            ["ogc-test-road-1"],
        ),
        ("S_INTERSECTS(geom, BBOX(113.079, 27.859, 113.091, 27.867)) AND source = 'ogc test'", ["ogc-test-road-2"]),
        ("accuracy_m * 2 = 60", ["ogc-test-road-1"]),
        # an injection attempt is just an odd string value, matched literally
        ("name = '; DROP TABLE roads; --'", []),
    ],
)
def test_cql2_text(client: TestClient, ogc_rows: dict, text_filter: str, expected: list[str]) -> None:
    assert _keys(client, "roads", filter=text_filter, **{"filter-lang": "cql2-text"}) == expected


def test_cql2_json_with_spatial_and_temporal(client: TestClient, ogc_rows: dict) -> None:
    cql = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "plan_id"}, "ogc-test-plan"]},
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [113.05, 27.95]}],
            },
        ],
    }
    assert _keys(client, "projects", filter=json.dumps(cql), **{"filter-lang": "cql2-json"}) == ["ogc-test-p2"]
    dated = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "plan_id"}, "ogc-test-plan"]},
            {"op": "t_after", "args": [{"property": "period"}, {"date": "2018-05-01"}]},
            {"op": ">=", "args": [{"property": "percent"}, 60]},
        ],
    }
    assert _keys(client, "projects", filter=json.dumps(dated)) == ["ogc-test-p1", "ogc-test-p2"]


def test_filter_crs_reads_geometry_in_that_crs(client: TestClient, ogc_rows: dict) -> None:
    # the same polygon as above, in EPSG:4326 latitude-longitude order
    text_filter = (
        "S_INTERSECTS(geometry, POLYGON((27.86 113.05, 27.86 113.075, 27.875 113.075, 27.875 113.05, 27.86 113.05)))"
    )
    keys = _keys(client, "roads", filter=text_filter, **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert keys == ["ogc-test-road-1"]


@pytest.mark.parametrize(
    "bad",
    [
        "nope = 1",  # not a queryable
        "name = ",  # syntax
        "FOO(name) = 'x'",  # unknown function
        "name > S_INTERSECTS",  # nonsense
    ],
)
def test_bad_filters_are_400_naming_filter(client: TestClient, bad: str) -> None:
    response = client.get("/collections/roads/items", params={"filter": bad})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == "filter"


def test_bad_json_filter(client: TestClient) -> None:
    response = client.get("/collections/roads/items", params={"filter": "{not json", "filter-lang": "cql2-json"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "filter"
