"""GCJ-02 output (issue 14 item 9): the database's ``xm_gcj02`` against the published formula, on every
geometry type, and ``crs=GCJ-02`` on items, item and a download; refused as bbox-crs / filter-crs."""

from __future__ import annotations

import json

import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod
from sqlalchemy import Engine, text

from service.common.chinese_crs import wgs84_to_gcj02

GCJ02 = "urn:xiangmap:crs:GCJ-02"

# wandergis/coordtransform (README and test suite), the reference JavaScript implementation of the formula
REFERENCE_WGS84 = (116.404, 39.915)
REFERENCE_GCJ02 = (116.41024449916938, 39.91640428150164)
# Tiananmen read off AMap (as the issue quotes it, rounded to 6 digits: within a metre)
TIANANMEN_WGS84, TIANANMEN_GCJ02 = (116.397428, 39.90923), (116.403674, 39.91064)


def _sql_gcj02(engine: Engine, wkt: str) -> shapely.Geometry:
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(xm_gcj02(ST_GeomFromText(:w, 4326)))"), {"w": wkt}).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def _python_gcj02(wkt: str) -> shapely.Geometry:
    geometry = shapely.from_wkt(wkt)
    return shapely.transform(geometry, lambda xy: [list(wgs84_to_gcj02(x, y)) for x, y in xy])


def test_the_reference_points(engine: Engine) -> None:
    moved = _sql_gcj02(engine, "POINT({} {})".format(*REFERENCE_WGS84))
    assert (moved.x, moved.y) == pytest.approx(REFERENCE_GCJ02, abs=1e-12)
    moved = _sql_gcj02(engine, "POINT({} {})".format(*TIANANMEN_WGS84))
    assert (moved.x, moved.y) == pytest.approx(TIANANMEN_GCJ02, abs=1e-5)


@pytest.mark.parametrize(
    "wkt",
    [
        "POINT(113.11 27.83)",
        "MULTIPOINT((112.94 28.23), (112.9 27.86))",
        "LINESTRING(112.9 27.86, 113.0 27.9, 113.2 28.0)",
        "MULTILINESTRING((113.060 27.868, 113.070 27.872), (112.5 27.1, 112.6 27.2))",
        "POLYGON((112.9 27.8, 113.2 27.8, 113.2 28.1, 112.9 28.1, 112.9 27.8), "
        "(113.0 27.9, 113.1 27.9, 113.1 28.0, 113.0 27.9))",
        "MULTIPOLYGON(((109.0 27.0, 109.5 27.0, 109.5 27.5, 109.0 27.0)), "
        "((114.0 29.0, 114.2 29.0, 114.2 29.2, 114.0 29.0)))",
        "GEOMETRYCOLLECTION(POINT(113.1 27.8), LINESTRING(113 27, 113.5 27.5))",
    ],
)
def test_every_vertex_of_every_geometry_type_matches_the_formula(engine: Engine, wkt: str) -> None:
    moved, expected = _sql_gcj02(engine, wkt), _python_gcj02(wkt)
    assert moved.geom_type == expected.geom_type
    assert shapely.equals_exact(moved, expected, tolerance=1e-11), (moved.wkt, expected.wkt)
    assert not shapely.equals_exact(moved, shapely.from_wkt(wkt), tolerance=1e-4)  # it did move


def test_outside_china_nothing_moves_and_empty_stays_empty(engine: Engine) -> None:
    tokyo = "POINT(139.69 35.69)"
    assert shapely.equals_exact(_sql_gcj02(engine, tokyo), shapely.from_wkt(tokyo), tolerance=0)
    assert _sql_gcj02(engine, "LINESTRING EMPTY").is_empty


def test_the_function_is_immutable_parallel_safe_and_the_app_role_may_run_it(engine: Engine) -> None:
    with engine.connect() as conn:  # the application role's own engine (decision 0091)
        row = conn.execute(
            text(
                "SELECT p.provolatile, p.proparallel, p.proisstrict, "
                "has_function_privilege(current_user, 'xm_gcj02(geometry)', 'EXECUTE'), "
                "pg_get_userbyid(p.proowner) <> current_user "
                "FROM pg_proc p WHERE p.oid = 'xm_gcj02(geometry)'::regprocedure"
            )
        ).one()
    assert tuple(row) == ("i", "s", True, True, True)


def test_items_in_gcj02_are_moved_by_the_formula(client: TestClient, ogc_rows: dict) -> None:
    response = client.get("/collections/sewage_plants/items", params={"source": "ogc test", "crs": "GCJ-02"})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{GCJ02}>"
    found = {f["id"]: f["geometry"]["coordinates"] for f in response.json()["features"]}
    lon, lat = found[ogc_rows["ogc-test-plant-1"]]
    assert (lon, lat) == pytest.approx(wgs84_to_gcj02(113.11, 27.83), abs=1e-7)  # 7 decimals: a centimetre
    shift = Geod(ellps="WGS84").inv(113.11, 27.83, lon, lat)[2]
    assert 500 < shift < 750  # what the overlays on AMap were off by


@pytest.mark.parametrize("form", ["GCJ02", "gcj-02", GCJ02])
def test_item_in_gcj02_by_any_of_its_names(client: TestClient, ogc_rows: dict, form: str) -> None:
    road = ogc_rows["ogc-test-road-1"]
    response = client.get(f"/collections/roads/items/{road}", params={"crs": form})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{GCJ02}>"
    line = response.json()["geometry"]["coordinates"][0]
    expected = [c for x, y in [(113.060, 27.868), (113.070, 27.872)] for c in wgs84_to_gcj02(x, y)]
    assert [c for position in line for c in position] == pytest.approx(expected, abs=1e-7)


def test_a_geojson_download_in_gcj02(client: TestClient, ogc_rows: dict) -> None:
    response = client.get("/collections/sewage_plants/download.geojson", params={"source": "ogc test", "crs": "GCJ02"})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{GCJ02}>"
    features = {f["id"]: f["geometry"]["coordinates"] for f in json.loads(response.content)["features"]}
    assert features[ogc_rows["ogc-test-plant-1"]] == pytest.approx(wgs84_to_gcj02(113.11, 27.83), abs=1e-7)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bbox": "113,27,114,28", "bbox-crs": "GCJ-02"}, "bbox-crs"),
        ({"filter": "S_INTERSECTS(geometry, POINT(113.1 27.8))", "filter-crs": GCJ02}, "filter-crs"),
    ],
)
def test_gcj02_is_for_output_only(client: TestClient, params: dict, parameter: str) -> None:
    response = client.get("/collections/roads/items", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter and "output only" in body["detail"]


def test_the_crs_error_names_gcj02_for_crs(client: TestClient) -> None:
    detail = client.get("/collections/roads/items", params={"crs": "EPSG:9999"}).json()["detail"]
    assert GCJ02 in detail and "EPSG:4546" not in detail and "EPSG/0/4546" in detail
