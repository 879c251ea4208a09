"""A private database with a small hand-made gazetteer, so geocoder rules are tested without the bundled layers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from service import migrate
from tests.conftest import url_for_database


def _square(lon: float, lat: float, half: float) -> str:
    w, e, s, n = lon - half, lon + half, lat - half, lat + half
    return f"MULTIPOLYGON((({w} {s},{e} {s},{e} {n},{w} {n},{w} {s})))"


def _line(lon: float, lat: float) -> str:
    return f"MULTILINESTRING(({lon - 0.005} {lat},{lon + 0.005} {lat}))"


DISTRICTS = [  # name, adcode, city, lon, lat
    ("石峰区", "430204", "株洲市", 113.08, 27.87),
    ("荷塘区", "430202", "株洲市", 113.16, 27.86),
    ("天元区", "430211", "株洲市", 113.08, 27.80),
    ("雨花区", "430111", "长沙市", 113.03, 28.13),
    ("岳塘区", "430304", "湘潭市", 112.95, 27.87),
]
ROADS = [  # key, name, aliases, lon, lat (inside a district square)
    ("zhuye", "株冶路", [], 113.07, 27.87),
    ("qingyu", "清雨路", [], 113.08, 27.875),
    ("qingxia", "清霞路", [], 113.09, 27.865),
    ("jianshe-zz", "建设路", [], 113.16, 27.86),
    ("jianshe-cs", "建设路", [], 113.03, 28.13),
    ("huangxing", "黄兴大道", [], 113.035, 28.12),
]
AREAS = [  # table, key, name, aliases, lon, lat, half
    ("qingshuitang", "qst", "清水塘", ["清水塘老工业区"], 113.075, 27.868, 0.02),
    ("qingshuitang", "qingshui", "清水片区", [], 113.06, 27.87, 0.005),
    ("qingshuitang", "tongxia", "铜霞片区", [], 113.09, 27.86, 0.005),
    ("demo_zones", "yunlong", "云龙示范区", ["云龙"], 113.15, 27.93, 0.02),
]
SITES = [  # key, name, kind, lon, lat
    ("seat-zz", "株洲市人民政府", "government", 113.1331, 27.8289),
    ("seat-hn", "湖南省人民政府", "government", 112.98, 28.20),
    ("rym", "日月湖", "lake", 113.10, 27.82),
]


def _fill(conn) -> None:  # type: ignore[no-untyped-def]
    for name, adcode, city, lon, lat in DISTRICTS:
        conn.execute(
            text(
                "INSERT INTO districts (key, name, adcode, city, source, geom) "
                "VALUES (:k, :n, :a, :c, 'test', ST_GeomFromText(:g, 4326))"
            ),
            {"k": adcode, "n": name, "a": adcode, "c": city, "g": _square(lon, lat, 0.04)},
        )
    for key, name, aliases, lon, lat in ROADS:
        conn.execute(
            text(
                "INSERT INTO roads (key, name, aliases, source, geom) "
                "VALUES (:k, :n, :al, 'test', ST_GeomFromText(:g, 4326))"
            ),
            {"k": key, "n": name, "al": aliases, "g": _line(lon, lat)},
        )
    for table, key, name, aliases, lon, lat, half in AREAS:
        conn.execute(
            text(
                f"INSERT INTO {table} (key, name, aliases, source, geom) "
                "VALUES (:k, :n, :al, 'test', ST_GeomFromText(:g, 4326))"
            ),
            {"k": key, "n": name, "al": aliases, "g": _square(lon, lat, half)},
        )
    conn.execute(
        text(
            "INSERT INTO sewage_plants (key, name, source, geom) "
            "VALUES ('hexi', '河西污水处理厂', 'test', ST_SetSRID(ST_MakePoint(113.05, 27.80), 4326))"
        )
    )
    conn.execute(
        text(
            "INSERT INTO streams (key, name, source, geom) VALUES ('xiang', '湘江', 'test', ST_GeomFromText(:g, 4326))"
        ),
        {"g": "MULTILINESTRING((113.0 27.6,113.1 27.9))"},
    )
    for key, name, kind, lon, lat in SITES:
        conn.execute(
            text(
                "INSERT INTO sites (key, name, kind, source, geom) "
                "VALUES (:k, :n, :kind, 'test', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {"k": key, "n": name, "kind": kind, "x": lon, "y": lat},
        )
    for key, subzone, scheme, lon in (
        ("gh-core", "核心保护区", "2024", 113.0),
        ("gh-mix", "融合发展区", "2024", 113.1),
    ):
        conn.execute(
            text(
                "INSERT INTO green_heart (key, name, scheme, subzone, valid_from, source, geom) "
                "VALUES (:k, :n, :s, :n, '2024-09-01', 'test', ST_GeomFromText(:g, 4326))"
            ),
            {"k": key, "n": subzone, "s": scheme, "g": _square(lon, 27.98, 0.04)},
        )


@pytest.fixture(scope="package")
def gazetteer_db(database_url: str) -> Iterator[Engine]:
    """A migrated database holding only the small gazetteer above (and the plans' tables, empty)."""
    name = f"xm_geocoder_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = create_engine(url_for_database(database_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = create_engine(url_for_database(database_url, name))
    try:
        migrate.upgrade(eng)
        with eng.begin() as conn:
            _fill(conn)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
