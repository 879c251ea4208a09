"""projects_points, projects_lines, projects_areas: every located project shows in a typed collection.

QGIS types an OAPIF layer by its first features, so a mixed ``projects`` collection shows only one
kind; these views cut each project (GeometryCollections too) into its parts of one kind
(decision 0101).  Checked against the database's own geometry, part for part.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.ogc.gdal_client import gdal_read_many

KINDS = {"projects_points": "MultiPoint", "projects_lines": "MultiLineString", "projects_areas": "MultiPolygon"}
MIXED = (
    "GEOMETRYCOLLECTION(POINT(113.05 27.85), LINESTRING(113.06 27.86, 113.07 27.87),"
    " POLYGON((113.08 27.88, 113.09 27.88, 113.09 27.89, 113.08 27.88)))"
)


@pytest.fixture(scope="module")
def mixed_project(engine: Engine, ogc_rows: dict) -> Iterator[int]:
    """A project located as a GeometryCollection of a point, a line and an area."""
    with engine.begin() as conn:
        project_id = conn.execute(
            text(
                "INSERT INTO projects (key, plan_id, title, task_text, deadline, year, geom) "
                "VALUES ('ogc-test-kinds', 'ogc-test-plan', '道路与公园', '道路与公园', DATE '2018-12-31', 2018, "
                "ST_GeomFromText(:w, 4326)) RETURNING id"
            ),
            {"w": MIXED},
        ).scalar_one()
    try:
        yield project_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM projects WHERE id = :i"), {"i": project_id})


def _parts_by_kind(geometry: Any) -> dict[str, Any]:
    """The stored geometry's simple parts grouped as the kind collections should serve them (shapely, not SQL)."""
    groups: dict[str, list[Any]] = {}
    pending = [geometry]
    while pending:
        part = pending.pop()
        if part.geom_type in ("GeometryCollection", "MultiPoint", "MultiLineString", "MultiPolygon"):
            pending.extend(shapely.get_parts(part))
        else:
            kind = {"Point": "projects_points", "LineString": "projects_lines", "Polygon": "projects_areas"}
            groups.setdefault(kind[part.geom_type], []).append(part)
    return {kind: shapely.union_all(parts) for kind, parts in groups.items()}


def _all_items(client: TestClient, collection_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/collections/{collection_id}/items", params={"limit": 10000})
    assert response.status_code == 200, response.text
    return response.json()["features"]


def test_kind_collections_are_listed_with_one_geometry_type(client: TestClient, mixed_project: int) -> None:
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    for collection_id, geometry_type in KINDS.items():
        assert listed[collection_id]["geometryType"] == geometry_type
        assert "extent" in listed[collection_id]
        types = {f["geometry"]["type"] for f in _all_items(client, collection_id)}
        assert types == {geometry_type}, collection_id


def test_every_part_of_every_located_project_is_in_its_kind(
    client: TestClient, engine: Engine, mixed_project: int
) -> None:
    with engine.connect() as conn:
        stored = {
            row.id: shapely.from_wkb(bytes(row.wkb))
            for row in conn.execute(text("SELECT id, ST_AsBinary(geom) AS wkb FROM projects WHERE geom IS NOT NULL"))
        }
    assert mixed_project in stored
    served: dict[int, dict[str, Any]] = {}
    for collection_id in KINDS:
        for feature in _all_items(client, collection_id):
            served.setdefault(feature["id"], {})[collection_id] = shapely.geometry.shape(feature["geometry"])
    assert set(served) == set(stored), "a located project is missing from every kind collection"
    for project_id, kinds in served.items():
        expected = _parts_by_kind(stored[project_id])
        assert set(kinds) == set(expected), project_id
        for collection_id, geometry in kinds.items():
            # served coordinates keep 7 decimals (about 1 cm): the same parts, to that
            assert geometry.hausdorff_distance(expected[collection_id]) < 1e-6, (project_id, collection_id)
    assert len(served[mixed_project]) == 3  # the point, the line and the area


def test_kind_items_keep_the_projects_properties_and_filters(client: TestClient, mixed_project: int) -> None:
    point = client.get(f"/collections/projects_points/items/{mixed_project}").json()
    whole = client.get(f"/collections/projects/items/{mixed_project}").json()
    assert point["properties"] == whole["properties"]
    assert point["geometry"] == {"type": "MultiPoint", "coordinates": [[113.05, 27.85]]}
    boxed = client.get("/collections/projects_areas/items", params={"bbox": "113.075,27.875,113.095,27.895"}).json()
    assert mixed_project in [f["id"] for f in boxed["features"]]
    outside = client.get("/collections/projects_areas/items", params={"bbox": "113.04,27.84,113.055,27.855"}).json()
    assert mixed_project not in [f["id"] for f in outside["features"]]
    missing = client.get(f"/collections/projects_lines/items/{point['id'] + 10**9}")
    assert missing.status_code == 404


def test_gdal_oapif_reads_each_kind_with_its_own_type(live_server: str, mixed_project: int) -> None:
    frames = gdal_read_many(
        [(f"OAPIF:{live_server}/collections/{collection_id}", {"fid_as_index": True}) for collection_id in KINDS]
    )
    for (collection_id, geometry_type), frame in zip(KINDS.items(), frames, strict=True):
        assert mixed_project in frame.index, collection_id
        assert set(frame.geometry.geom_type) == {geometry_type}, collection_id
        assert frame.loc[mixed_project, "title"] == "道路与公园"
