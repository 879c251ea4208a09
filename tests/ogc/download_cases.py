"""Projects that every download format finds hard, inserted once for the download tests and removed after.

A GeometryCollection of a point, a line and a polygon; a feature without geometry; a polygon of 2,000
vertices whose WKT is over Excel's 32,767 characters per cell; a task text of 40,000 characters with
characters GBK lacks (𬌗 U+2C317, 䶮 U+4DAE; also in a short one); a title a spreadsheet would run as a
formula.  Their plan is ``ogc-dl-plan`` so they never mix with tests/ogc/conftest.py's rows.

A test module makes its fixture of ``inserted(engine)`` (module scope).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text

PLAN = "ogc-dl-plan"
RARE = "𬌗䶮"
LONG_TEXT = ("长株潭两型社会建设综合配套改革，清水塘老工业区搬迁改造。" * 1400)[:39_990] + RARE + "完"
PROJECTS = [
    ("ogc-dl-point", '=HYPERLINK("http://x","y")', "株冶路提质改造", "POINT(113.075 27.868)"),
    (
        "ogc-dl-collection",
        "清水塘生态新城",
        "霞湾港、清水湖片区综合治理" + RARE,
        "GEOMETRYCOLLECTION(POINT(113.05 27.87),LINESTRING(113.04 27.86,113.06 27.88),"
        "POLYGON((113.0 27.9,113.02 27.9,113.02 27.92,113.0 27.9)))",
    ),
    ("ogc-dl-none", "体制机制创新", "全市统筹，不落图", None),
    ("ogc-dl-big", "绿心保护长文", LONG_TEXT, "BIG"),
]
BIG_SQL = "ST_Buffer(ST_SetSRID(ST_MakePoint(113.1, 27.95), 4326), 0.02, 500)"


def _cleanup(conn: Any) -> None:
    conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": PLAN})


@contextmanager
def inserted(engine: Engine) -> Iterator[dict[str, Any]]:
    """Insert the projects; yields {key: (id, task_text, shapely geometry or None)}, removes them after."""
    rows: dict[str, Any] = {}
    with engine.begin() as conn:
        _cleanup(conn)
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:p, '下载测试计划', 2018, '株洲市')"), {"p": PLAN}
        )
        for key, title, task, wkt in PROJECTS:
            geometry = "NULL" if wkt is None else (BIG_SQL if wkt == "BIG" else "ST_GeomFromText(:w, 4326)")
            found = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, year, geom) "
                    f"VALUES (:k, :p, :t, :task, '测试', 2018, {geometry}) RETURNING id, ST_AsBinary(geom)"
                ),
                {"k": key, "p": PLAN, "t": title, "task": task, "w": wkt},
            ).one()
            rows[key] = (found[0], task, shapely.from_wkb(bytes(found[1])) if found[1] is not None else None)
    try:
        yield rows
    finally:
        with engine.begin() as conn:
            _cleanup(conn)


def families(geometry: Any) -> dict[int, Any]:
    """A geometry's atomic parts grouped by dimension (0 points, 1 lines, 2 polygons), each group one
    geometry: a GeometryCollection, its Shapefile layers and its KML MultiGeometry compare equal."""
    if geometry is None or geometry.is_empty:
        return {}
    parts: dict[int, list[Any]] = {}
    stack = [geometry]
    while stack:
        item = stack.pop()
        if item.geom_type.startswith("Multi") or item.geom_type == "GeometryCollection":
            stack.extend(shapely.get_parts(item))
        elif not item.is_empty:
            parts.setdefault(shapely.get_dimensions(item), []).append(shapely.force_2d(item))
    return {dim: shapely.geometrycollections(items) for dim, items in parts.items()}


def same_place(actual: Any, expected: Any, tolerance: float = 2e-6) -> bool:
    """Every part in the same place: per family the same number of parts within ``tolerance`` (Hausdorff
    distance in CRS84 degrees; 2e-6 is about 20 cm, above the 1 cm rounding of every output)."""
    got, want = families(actual), families(expected)
    if set(got) != set(want):
        return False
    return all(
        shapely.get_num_geometries(got[d]) == shapely.get_num_geometries(want[d])
        and shapely.hausdorff_distance(got[d], want[d]) <= tolerance
        for d in want
    )


def to_crs84(geometry: Any, epsg: int) -> Any:
    """A geometry given x/y (east, longitude first) in ``epsg`` back in CRS84."""
    if geometry is None or epsg == 4326:
        return geometry
    transformer = Transformer.from_crs(epsg, "OGC:CRS84", always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(*xy.T)))
