"""A small, exactly known world for progress, stats and map tests: one plan, two districts, five projects.

Geometries are drawn in EPSG:4547 metres (so lengths and areas are known by construction) and stored in
EPSG:4326, far from the real Chang-Zhu-Tan data (near 113.6E 24.0N) so no real district contains them.
Everything is removed again by ``drop_world``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping
from sqlalchemy import Engine, text

TO_WGS84 = Transformer.from_crs(4547, 4326, always_xy=True)
TO_METRES = Transformer.from_crs(4326, 4547, always_xy=True)
X0, Y0 = TO_METRES.transform(113.6, 24.0)


def wgs(geom):  # type: ignore[no-untyped-def]
    """A shapely geometry drawn in metres (offsets from X0, Y0) as EPSG:4326."""
    return shapely.transform(geom, lambda x, y: TO_WGS84.transform(X0 + x, Y0 + y), interleaved=False)


def box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


@dataclass
class World:
    plan: str
    ids: dict[str, int]
    district_names: tuple[str, str]


def build_world(engine: Engine, tag: str) -> World:
    """Insert the plan ``t6-<tag>``, districts 甲区 / 乙区 and projects point / line / area / nowhere / city."""
    plan = f"t6-{tag}"
    d1, d2 = f"测试甲区{tag}", f"测试乙区{tag}"
    districts = {
        d1: (f"T6{tag}1", MultiPolygon([box(0, 0, 5000, 5000)])),
        d2: (f"T6{tag}2", MultiPolygon([box(5000, 0, 10000, 5000)])),
    }
    projects = {
        # key: (category, lead units, deadline, geometry in metres, precision)
        "point": ("两型改革", ["市发改委"], "2018-06-30", Point(1000, 1000), 1),
        "line": ("碧水蓝天", ["市住建局", "市城管局"], "2018-12-31", LineString([(1000, 2000), (2000, 2000)]), 5),
        "area": ("绿心保护", ["市林业局"], None, box(6000, 1000, 7000, 1500), 2),
        "nowhere": ("两型改革", [], None, None, None),
        "city": ("碧水蓝天", ["市住建局"], "2018-09-30", Point(7000, 4000), 4),
    }
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:id, :title, 2018, '测试市')"),
            {"id": plan, "title": f"测试计划{tag}"},
        )
        for name, (adcode, geom) in districts.items():
            conn.execute(
                text(
                    "INSERT INTO districts (key, name, source, adcode, city, geom)"
                    " VALUES (:key, :name, 'test', :adcode, '测试市', ST_GeomFromText(:wkt, 4326))"
                ),
                {"key": f"test-{adcode}", "name": name, "adcode": adcode, "wkt": wgs(geom).wkt},
            )
        for key, (category, leads, deadline, geom, precision) in projects.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, deadline, year,"
                    " geom, precision, location_status) VALUES (:key, :plan, :title, :task, :category, :leads,"
                    " :deadline, 2018, ST_GeomFromText(:wkt, 4326), :precision,"
                    " CASE WHEN :wkt IS NULL THEN 'unresolved' ELSE 'manual' END) RETURNING id"
                ),
                {
                    "key": f"{plan}/{key}",
                    "plan": plan,
                    "title": f"测试项目 {key}",
                    "task": f"完成测试项目{key}的建设任务",
                    "category": category,
                    "leads": leads,
                    "deadline": deadline,
                    "wkt": wgs(geom).wkt if geom is not None else None,
                    "precision": precision,
                },
            ).scalar_one()
    return World(plan=plan, ids=ids, district_names=(d1, d2))


def drop_world(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": world.plan})
        conn.execute(text("DELETE FROM districts WHERE name = ANY(:names)"), {"names": list(world.district_names)})


def geojson(geom) -> dict:  # type: ignore[no-untyped-def]
    """GeoJSON of a geometry drawn in metres."""
    return dict(mapping(wgs(geom)))


def post_reports(client, auth: dict, project_id: int, reports: Iterable[dict]) -> None:  # type: ignore[no-untyped-def]
    for report in reports:
        r = client.post(f"/projects/{project_id}/progress", json=report, headers=auth["coordinator"])
        assert r.status_code == 201, r.text
