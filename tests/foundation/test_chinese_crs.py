"""GCJ-02 / BD-09 round trips are exact to well under a metre (millimetres, in fact)."""

from __future__ import annotations

import math

import shapely

from service.common import chinese_crs as c

PLACES = {"株洲火车站": (113.1517, 27.8381), "昭山": (113.0171, 27.9739), "清水塘": (113.075, 27.868)}


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 110_574)


def test_gcj02_offset_is_as_published_here_and_inverse_is_exact() -> None:
    for lon, lat in PLACES.values():
        g = c.wgs84_to_gcj02(lon, lat)
        assert 500 < metres(g, (lon, lat)) < 800  # PRODUCT.md: 650-680 m around Zhuzhou
        assert metres(c.gcj02_to_wgs84(*g), (lon, lat)) < 0.001


def test_bd09_offset_and_exact_inverse() -> None:
    for lon, lat in PLACES.values():
        b = c.wgs84_to_bd09(lon, lat)
        assert 900 < metres(b, (lon, lat)) < 1500  # about 1.2 km
        assert metres(c.bd09_to_wgs84(*b), (lon, lat)) < 0.001


def test_outside_china_untouched_and_geometry_conversion() -> None:
    assert c.gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)
    line = shapely.LineString([c.wgs84_to_gcj02(*p) for p in PLACES.values()])
    back = c.to_wgs84_geometry(line, "gcj02")
    for got, want in zip(back.coords, PLACES.values(), strict=True):
        assert metres(got, want) < 0.001
