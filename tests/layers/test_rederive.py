"""Projects geocoded to layer features follow those features when a load changes or removes them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.layers.loader import load_layer_file
from service.layers.rederive import rederive_project_geometries

ROAD = "重算测试路"


@pytest.fixture
def conn(rolled_back_session: Session) -> Session:
    return rolled_back_session


def write_road(path: Path, coords: list[tuple[float, float]]) -> Path:
    gpd.GeoDataFrame({"name": [ROAD]}, geometry=[LineString(coords)], crs=4326).to_file(path)
    return path


def make_project(conn: Session) -> int:
    conn.execute(text("INSERT INTO plans (id, title, year) VALUES ('rederive-test', '重算测试', 2018)"))
    project_id = conn.execute(
        text(
            """INSERT INTO projects (key, plan_id, title, task_text, location_status)
               VALUES ('rederive-test/1', 'rederive-test', '测试', '加快' || :road || '建设', 'auto') RETURNING id"""
        ),
        {"road": ROAD},
    ).scalar_one()
    conn.execute(
        text(
            """INSERT INTO project_locations (project_id, layer, feature_key, name, precision, method)
               VALUES (:p, 'roads', :road, :road, 1, 'gazetteer'),
                      (:p, 'sites', '株洲火车站', '株洲火车站', 1, 'gazetteer')"""
        ),
        {"p": project_id, "road": ROAD},
    )
    conn.execute(
        text(
            """INSERT INTO project_locations (project_id, layer, feature_key, precision, method, geom)
               VALUES (:p, 'roads', :road, 1, 'manual', ST_SetSRID(ST_Point(113.2, 27.9), 4326))"""
        ),
        {"p": project_id, "road": ROAD},
    )
    return project_id


def project(conn: Session, project_id: int) -> tuple[int, bool, bool, bool]:
    return conn.execute(
        text(
            """SELECT p.version,
                      ST_Intersects(p.geom, r.geom),
                      ST_Intersects(p.geom, ST_SetSRID(ST_Point(113.2, 27.9), 4326)),
                      ST_Intersects(p.geom, s.geom)
               FROM projects p LEFT JOIN roads r ON r.key = :road, sites s
               WHERE p.id = :id AND s.key = '株洲火车站'"""
        ),
        {"id": project_id, "road": ROAD},
    ).one()


def test_a_moved_feature_moves_its_projects(conn: Session, tmp_path: Path) -> None:
    load_layer_file(
        conn, "roads", write_road(tmp_path / "a.geojson", [(113.10, 27.86), (113.12, 27.87)]), actor="test", kind="cli"
    )
    project_id = make_project(conn)
    assert rederive_project_geometries(conn, "roads", [ROAD]) == 1
    version, on_road, on_manual, on_station = project(conn, project_id)
    assert on_road and on_manual and on_station  # union of feature geometries and the manual drawing

    moved = write_road(tmp_path / "b.geojson", [(113.00, 27.70), (113.01, 27.71)])
    report = load_layer_file(conn, "roads", moved, actor="test", kind="cli")
    assert report.updated == 1 and report.rederived == 1
    new_version, on_road, on_manual, on_station = project(conn, project_id)
    assert on_road and on_manual and on_station and new_version == version + 1
    assert conn.execute(
        text(
            "SELECT NOT ST_Intersects(geom, ST_SetSRID(ST_MakeLine(ST_Point(113.10, 27.86), ST_Point(113.12, 27.87)), "
            "4326)) FROM projects WHERE id = :id"
        ),
        {"id": project_id},
    ).scalar_one()

    again = load_layer_file(conn, "roads", moved, actor="test", kind="cli")
    assert again.rederived == 0 and project(conn, project_id)[0] == new_version  # nothing changed, no new version


def test_a_removed_feature_drops_out_of_its_projects(conn: Session, tmp_path: Path) -> None:
    load_layer_file(
        conn, "roads", write_road(tmp_path / "a.geojson", [(113.10, 27.86), (113.12, 27.87)]), actor="test", kind="cli"
    )
    project_id = make_project(conn)
    rederive_project_geometries(conn, "roads", [ROAD])
    conn.execute(text("DELETE FROM roads WHERE key = :k"), {"k": ROAD})
    assert rederive_project_geometries(conn, "roads", [ROAD]) == 1
    kinds = conn.execute(text("SELECT ST_NumGeometries(geom) FROM projects WHERE id = :id"), {"id": project_id})
    assert kinds.scalar_one() == 2  # the station and the manual point remain


def test_unknown_keys_change_nothing(conn: Session) -> None:
    assert rederive_project_geometries(conn, "roads", []) == 0
    assert rederive_project_geometries(conn, "roads", ["no such road"]) == 0


def test_city_level_locations_are_the_union_of_their_districts(conn: Session, tmp_path: Path) -> None:
    load_layer_file(conn, "roads", write_road(tmp_path / "a.geojson", [(113.10, 27.86), (113.12, 27.87)]),
                    actor="test", kind="cli")  # fmt: skip
    project_id = make_project(conn)
    conn.execute(
        text(
            """INSERT INTO project_locations (project_id, layer, feature_key, name, precision, method)
               VALUES (:p, 'cities', 'city:湘潭市', '湘潭市', 3, 'gazetteer')"""
        ),
        {"p": project_id},
    )
    assert rederive_project_geometries(conn, "roads", [ROAD]) == 1
    in_xiangtan = conn.execute(
        text("SELECT ST_Intersects(geom, ST_SetSRID(ST_Point(112.93, 27.85), 4326)) FROM projects WHERE id = :id"),
        {"id": project_id},
    ).scalar_one()
    assert in_xiangtan


def test_a_project_with_an_unresolvable_location_is_left_alone(conn: Session, tmp_path: Path) -> None:
    load_layer_file(conn, "roads", write_road(tmp_path / "a.geojson", [(113.10, 27.86), (113.12, 27.87)]),
                    actor="test", kind="cli")  # fmt: skip
    project_id = make_project(conn)
    conn.execute(
        text(
            """INSERT INTO project_locations (project_id, layer, feature_key, name, precision, method)
               VALUES (:p, 'green_heart', 'green_heart:长株潭生态绿心', '长株潭生态绿心', 2, 'gazetteer')"""
        ),
        {"p": project_id},
    )
    assert rederive_project_geometries(conn, "roads", [ROAD]) == 0
    assert conn.execute(text("SELECT geom IS NULL FROM projects WHERE id = :id"), {"id": project_id}).scalar_one()
