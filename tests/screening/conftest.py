"""Screening fixtures: test zones of our own, far from the bundled ones, cleaned up after the run.

The zones sit near 113.8E 26.9N (south Zhuzhou, no protected layer there), close enough to the
EPSG:4547 central meridian that the independent shapely + pyproj figures are exact references.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

PREFIX = "t7-"
CENTRE = (113.80, 26.90)
TO_4547 = Transformer.from_crs(4326, 4547, always_xy=True)
TO_4326 = Transformer.from_crs(4547, 4326, always_xy=True)


def to_4547(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_4547.transform(xy[:, 0], xy[:, 1])))


def to_4326(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_4326.transform(xy[:, 0], xy[:, 1])))


def metric_box(dx0: float, dy0: float, dx1: float, dy1: float) -> BaseGeometry:
    """A box given in metres east/north of CENTRE, returned in EPSG:4326."""
    cx, cy = TO_4547.transform(*CENTRE)
    return to_4326(shapely.box(cx + dx0, cy + dy0, cx + dx1, cy + dy1).segmentize(200))


def metric_circle(radius_m: float, vertices: int) -> BaseGeometry:
    cx, cy = TO_4547.transform(*CENTRE)
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = np.column_stack([cx + radius_m * np.cos(angles), cy + radius_m * np.sin(angles)])
    return to_4326(shapely.Polygon(ring))


def metric_point(dx: float, dy: float) -> BaseGeometry:
    cx, cy = TO_4547.transform(*CENTRE)
    return shapely.Point(TO_4326.transform(cx + dx, cy + dy))


@dataclass(frozen=True)
class ScreeningZones:
    core: BaseGeometry  # circle r=3 km, 12 000 vertices: 禁止开发区 (2010-2030) and 核心保护区 (2024)
    restricted: BaseGeometry  # 限制开发区 (2010-2030): box 4-8 km east
    controlled: BaseGeometry  # 控制建设区 (2010-2030): box 9-12 km east
    integrated: BaseGeometry  # 融合发展区 (2024): box 4-12 km east
    industrial: BaseGeometry  # qingshuitang test zone: box 4-8 km west


def _insert_green_heart(conn, key: str, scheme: str, subzone: str, start: str, end: str | None, geom) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO green_heart (key, name, source, scheme, subzone, valid_from, valid_to, regulation, geom) "
            "VALUES (:key, :name, 'test', :scheme, :subzone, :start, :end, 'test', "
            "ST_Multi(ST_GeomFromText(:wkt, 4326)))"
        ),
        {
            "key": key,
            "name": f"测试{subzone}",
            "scheme": scheme,
            "subzone": subzone,
            "start": start,
            "end": end,
            "wkt": geom.wkt,
        },
    )


def cleanup(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM screenings WHERE actor LIKE 'test-%' AND project_id IN "
                "(SELECT id FROM projects WHERE key LIKE 't7-%')"
            )
        )
        conn.execute(text("DELETE FROM projects WHERE key LIKE 't7-%'"))
        conn.execute(text("DELETE FROM plans WHERE id LIKE 't7-%'"))
        conn.execute(text("DELETE FROM green_heart WHERE key LIKE 't7-%'"))
        conn.execute(text("DELETE FROM qingshuitang WHERE key LIKE 't7-%'"))


@pytest.fixture(scope="session")
def zones(engine: Engine) -> Iterator[ScreeningZones]:
    made = ScreeningZones(
        core=metric_circle(3000, 12_000),
        restricted=metric_box(4000, -2000, 8000, 2000),
        controlled=metric_box(9000, -2000, 12000, 2000),
        integrated=metric_box(4000, -2000, 12000, 2000),
        industrial=metric_box(-8000, -2000, -4000, 2000),
    )
    cleanup(engine)
    old, new = ("2010-2030", "2013-03-01", "2024-08-31"), ("2024", "2024-09-01", None)
    with engine.begin() as conn:
        _insert_green_heart(conn, "t7-old-prohibited", *old[:1], "禁止开发区", *old[1:], made.core)
        _insert_green_heart(conn, "t7-old-restricted", *old[:1], "限制开发区", *old[1:], made.restricted)
        _insert_green_heart(conn, "t7-old-controlled", *old[:1], "控制建设区", *old[1:], made.controlled)
        _insert_green_heart(conn, "t7-new-core", *new[:1], "核心保护区", *new[1:], made.core)
        _insert_green_heart(conn, "t7-new-integrated", *new[:1], "融合发展区", *new[1:], made.integrated)
        conn.execute(
            text(
                "INSERT INTO qingshuitang (key, name, source, kind, geom) "
                "VALUES ('t7-qst', '测试老工业区', 'test', 'zone', ST_Multi(ST_GeomFromText(:wkt, 4326)))"
            ),
            {"wkt": made.industrial.wkt},
        )
    yield made
    cleanup(engine)
