"""Rows with exact expectations for the OGC tests, inserted once for the package and removed after.

Keys start with ``ogc-test-`` so they never collide with the bundled data other areas load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

ROADS = [
    ("ogc-test-road-1", "株冶路", "{株冶大道}", "MULTILINESTRING((113.060 27.868, 113.070 27.872))", 30.0),
    ("ogc-test-road-2", "清雨路", "{}", "MULTILINESTRING((113.080 27.860, 113.090 27.866))", 50.0),
    ("ogc-test-road-3", "清霞路", "{}", "MULTILINESTRING((113.095 27.870, 113.100 27.880))", None),
]
PLANTS = [
    ("ogc-test-plant-1", "河西污水处理厂", "POINT(113.110 27.830)", 12.5),
    ("ogc-test-plant-2", "金山污水处理厂", "POINT(113.170 27.880)", None),
]
SITES = [
    ("ogc-test-site-1", "神农塔", "POINT(113.1136 27.8214)", "hill"),
    (
        "ogc-test-site-2",
        "日月湖",
        "POLYGON((113.10 27.90, 113.11 27.90, 113.11 27.91, 113.10 27.91, 113.10 27.90))",
        "lake",
    ),
]
PLAN_ID = "ogc-test-plan"


def _cleanup(conn: Any) -> None:
    for table in ("roads", "sewage_plants", "sites"):
        conn.execute(text(f"DELETE FROM {table} WHERE key LIKE 'ogc-test-%'"))
    conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": PLAN_ID})


@pytest.fixture(scope="package")
def ogc_rows(engine: Engine) -> Iterator[dict[str, Any]]:
    """Insert the known rows; yields their ids by key."""
    ids: dict[str, Any] = {}
    with engine.begin() as conn:
        _cleanup(conn)
        for key, name, aliases, wkt, accuracy in ROADS:
            ids[key] = conn.execute(
                text(
                    "INSERT INTO roads (key, name, aliases, source, accuracy_m, district, road_class, geom) "
                    "VALUES (:k, :n, CAST(:a AS text[]), 'ogc test', :acc, '石峰区', 'urban', "
                    "ST_GeomFromText(:w, 4326)) RETURNING id"
                ),
                {"k": key, "n": name, "a": aliases, "acc": accuracy, "w": wkt},
            ).scalar_one()
        for key, name, wkt, capacity in PLANTS:
            ids[key] = conn.execute(
                text(
                    "INSERT INTO sewage_plants (key, name, source, capacity_m3_d, geom) "
                    "VALUES (:k, :n, 'ogc test', :c, ST_GeomFromText(:w, 4326)) RETURNING id"
                ),
                {"k": key, "n": name, "c": capacity, "w": wkt},
            ).scalar_one()
        for key, name, wkt, kind in SITES:
            ids[key] = conn.execute(
                text(
                    "INSERT INTO sites (key, name, source, kind, geom) "
                    "VALUES (:k, :n, 'ogc test', :kind, ST_GeomFromText(:w, 4326)) RETURNING id"
                ),
                {"k": key, "n": name, "kind": kind, "w": wkt},
            ).scalar_one()
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:p, 'OGC 测试计划', 2018, '株洲市')"),
            {"p": PLAN_ID},
        )
        projects = [
            ("ogc-test-p1", "清水塘搬迁", "生态", "{市发改委}", "{石峰区政府,市环保局}", "POINT(113.075 27.868)", 1),
            (
                "ogc-test-p2",
                "绿心保护",
                "绿心",
                "{市林业局}",
                "{}",
                "POLYGON((113.0 27.9, 113.1 27.9, 113.1 28.0, 113.0 27.9))",
                3,
            ),
            ("ogc-test-p3", "体制改革", "改革", "{市委改革办}", "{}", None, None),
        ]
        for key, title, category, lead, responsible, wkt, precision in projects:
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, responsible_units, "
                    "deadline, year, precision, geom) VALUES (:k, :p, :t, :t, :c, CAST(:l AS text[]), "
                    "CAST(:r AS text[]), DATE '2018-12-31', 2018, :prec, ST_GeomFromText(:w, 4326)) RETURNING id"
                ),
                {
                    "k": key,
                    "p": PLAN_ID,
                    "t": title,
                    "c": category,
                    "l": lead,
                    "r": responsible,
                    "w": wkt,
                    "prec": precision,
                },
            ).scalar_one()
        reports = [
            ("ogc-test-p1", "2018-03-01", "推进中", 30, 1200.5),
            ("ogc-test-p1", "2018-06-01", "推进中", 60, 2500.0),
            ("ogc-test-p2", "2018-06-01", "已完成", 100, None),
        ]
        for key, period, status, percent, investment in reports:
            conn.execute(
                text(
                    "INSERT INTO progress_reports (project_id, period, status, percent, investment_wan) "
                    "VALUES (:id, CAST(:period AS date), :s, :pc, :inv)"
                ),
                {"id": ids[key], "period": period, "s": status, "pc": percent, "inv": investment},
            )
    try:
        yield ids
    finally:
        with engine.begin() as conn:
            _cleanup(conn)
