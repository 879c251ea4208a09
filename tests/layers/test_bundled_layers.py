"""The bundled layers as setup loaded them: real district boundaries, zoning areas, known places."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from service.layers.bundled import load_bundled_layers

ZHUZHOU = {
    "430202": "荷塘区", "430203": "芦淞区", "430204": "石峰区", "430211": "天元区", "430212": "渌口区",
    "430223": "攸县", "430224": "茶陵县", "430225": "炎陵县", "430281": "醴陵市",
}  # fmt: skip
# published land areas (km²) of the three cities and of counties whose boundaries did not move recently
PUBLISHED_KM2 = {"长沙市": 11819, "株洲市": 11262, "湘潭市": 5006}
COUNTY_KM2 = {"浏阳市": 5007, "宁乡市": 2906, "攸县": 2648, "茶陵县": 2500, "醴陵市": 2157, "湘乡市": 1967}


def scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_every_zhuzhou_adcode_with_its_name_and_city(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT adcode, name FROM districts WHERE city = '株洲市'")).all())
        cities = dict(conn.execute(text("SELECT city, count(*) FROM districts GROUP BY city")).all())
    assert rows == ZHUZHOU
    assert cities == {"长沙市": 9, "株洲市": 9, "湘潭市": 5}
    assert scalar(engine, "SELECT adcode FROM districts WHERE name = '雨湖区'") == "430302"
    assert scalar(engine, "SELECT adcode FROM districts WHERE name = '岳塘区'") == "430304"


def test_district_aliases_drop_the_suffix_and_keep_old_names(engine: Engine) -> None:
    assert "石峰" in scalar(engine, "SELECT aliases FROM districts WHERE adcode = '430204'")
    assert "株洲县" in scalar(engine, "SELECT aliases FROM districts WHERE adcode = '430212'")
    assert "长沙" not in scalar(engine, "SELECT aliases FROM districts WHERE name = '长沙县'")


@pytest.mark.parametrize(("city", "km2"), PUBLISHED_KM2.items())
def test_city_areas_match_the_published_figures(engine: Engine, city: str, km2: float) -> None:
    area = scalar(engine, "SELECT sum(ST_Area(ST_Transform(geom, 4547))) / 1e6 FROM districts WHERE city = :c", c=city)
    assert area == pytest.approx(km2, rel=0.01)


@pytest.mark.parametrize(("name", "km2"), COUNTY_KM2.items())
def test_county_areas_match_the_published_figures(engine: Engine, name: str, km2: float) -> None:
    area = scalar(engine, "SELECT ST_Area(ST_Transform(geom, 4547)) / 1e6 FROM districts WHERE name = :n", n=name)
    assert area == pytest.approx(km2, rel=0.02)


def test_districts_tile_without_overlap(engine: Engine) -> None:
    overlap = scalar(
        engine,
        """SELECT coalesce(sum(ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 4547))), 0) / 1e6
           FROM districts a JOIN districts b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)""",
    )
    assert overlap < 1.0  # km²: shared borders only, after the GCJ-02 → WGS84 conversion


def test_known_places_fall_in_their_districts(engine: Engine) -> None:
    for lon, lat, district in [(113.1517, 27.8381, None), (113.0624, 27.7932, "天元区"), (113.0171, 27.9739, "岳塘区")]:
        found = scalar(
            engine,
            "SELECT name FROM districts WHERE ST_Intersects(geom, ST_SetSRID(ST_Point(:x, :y), 4326))",
            x=lon,
            y=lat,
        )
        assert found is not None and (district is None or found == district)


def gh_area(engine: Engine, scheme: str, subzone: str | None = None) -> float:
    sql = "SELECT sum(ST_Area(ST_Transform(geom, 4547))) / 1e6 FROM green_heart WHERE scheme = :s"
    if subzone:
        sql += " AND subzone = :z"
    return float(scalar(engine, sql, s=scheme, z=subzone))


def test_green_heart_totals_near_the_published_areas(engine: Engine) -> None:
    assert gh_area(engine, "2010-2030") == pytest.approx(522.87, rel=0.01)
    assert gh_area(engine, "2024") == pytest.approx(528.32, rel=0.01)
    assert gh_area(engine, "2024", "核心保护区") == pytest.approx(301.35, rel=0.01)
    share = (gh_area(engine, "2010-2030", "禁止开发区") + gh_area(engine, "2010-2030", "限制开发区")) / 522.87
    assert share == pytest.approx(0.89, abs=0.01)


def test_green_heart_schemes_carry_dates_and_regulations(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT scheme, subzone, subzone_en, valid_from::text, valid_to::text, regulation FROM green_heart")
        ).all()
    by_scheme = {}
    for scheme, subzone, subzone_en, valid_from, valid_to, regulation in rows:
        by_scheme.setdefault(scheme, set()).add(subzone)
        assert subzone_en and regulation
        if scheme == "2024":
            assert (valid_from, valid_to, regulation) == ("2024-09-01", None, "湖南省长株潭生态绿心保护条例")
        else:
            assert (valid_from, valid_to) == ("2013-03-01", "2024-08-31")
    assert by_scheme == {"2010-2030": {"禁止开发区", "限制开发区", "控制建设区"}, "2024": {"核心保护区", "融合发展区"}}


def test_subzones_of_a_scheme_do_not_overlap(engine: Engine) -> None:
    overlap = scalar(
        engine,
        """SELECT coalesce(sum(ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 4547))), 0)
           FROM green_heart a JOIN green_heart b ON a.scheme = b.scheme AND a.id < b.id""",
    )
    assert overlap < 10_000  # m²: rounding slivers at most


def inside_green_heart(engine: Engine, layer: str, name: str, scheme: str) -> bool:
    return bool(
        scalar(
            engine,
            f"""SELECT EXISTS (SELECT 1 FROM green_heart g, {layer} s
                WHERE g.scheme = :scheme AND s.name = :name AND ST_Intersects(g.geom, s.geom))""",
            scheme=scheme,
            name=name,
        )
    )


@pytest.mark.parametrize("scheme", ["2010-2030", "2024"])
def test_known_places_land_right(engine: Engine, scheme: str) -> None:
    for place in ("昭山", "九郎山", "跳马", "暮云"):
        assert inside_green_heart(engine, "sites", place, scheme), place
    for place in ("株洲火车站", "株冶", "株洲市人民政府", "株洲西站"):
        assert not inside_green_heart(engine, "sites", place, scheme), place
    assert not inside_green_heart(engine, "qingshuitang", "清水塘", scheme)


def test_zhaoshan_is_in_the_core(engine: Engine) -> None:
    subzone = scalar(
        engine,
        """SELECT g.subzone FROM green_heart g, sites s
           WHERE g.scheme = '2024' AND s.name = '昭山' AND ST_Intersects(g.geom, s.geom)""",
    )
    assert subzone == "核心保护区"


def test_qingshuitang_zone_and_sub_areas(engine: Engine) -> None:
    area = scalar(engine, "SELECT ST_Area(ST_Transform(geom, 4547)) / 1e6 FROM qingshuitang WHERE name = '清水塘'")
    assert area == pytest.approx(15.0, rel=0.02)
    district = scalar(
        engine,
        """SELECT d.name FROM districts d, qingshuitang q WHERE q.name = '清水塘'
           ORDER BY ST_Area(ST_Intersection(d.geom, q.geom)) DESC LIMIT 1""",
    )
    assert district == "石峰区"
    with engine.connect() as conn:
        subareas = set(conn.execute(text("SELECT name FROM qingshuitang WHERE parent = '清水塘'")).scalars())
        outside = conn.execute(
            text(
                """SELECT count(*) FROM qingshuitang s, qingshuitang z WHERE z.name = '清水塘' AND s.parent = '清水塘'
                   AND NOT ST_CoveredBy(s.geom, ST_Buffer(z.geom, 0.00001))"""
            )
        ).scalar_one()
    assert {"清水湖片区", "铜塘湾片区", "霞湾片区", "铜霞片区"} <= subareas
    assert outside == 0


def test_demo_zones(engine: Engine) -> None:
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM demo_zones")).scalars())
        shennong = conn.execute(
            text(
                "SELECT ST_Intersects(geom, ST_SetSRID(ST_Point(113.1136, 27.8214), 4326)) "
                "FROM demo_zones WHERE name = '神农城'"
            )
        ).scalar_one()
    assert names >= {"云龙示范区", "天元片区", "清水塘片区", "神农城", "职教城"}
    assert shennong


def test_government_seats_with_honest_accuracy(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = {
            r.name: r
            for r in conn.execute(
                text(
                    "SELECT name, ST_X(geom) x, ST_Y(geom) y, accuracy_m, verified "
                    "FROM sites WHERE kind = 'government_seat'"
                )
            )
        }
    assert set(rows) >= {"株洲市人民政府", "长沙市人民政府", "湘潭市人民政府", "湖南省人民政府"}
    seat = rows["株洲市人民政府"]
    assert (round(seat.y, 4), round(seat.x, 4)) == (27.8289, 113.1331)
    assert all(r.accuracy_m and r.accuracy_m >= 100 and not r.verified for r in rows.values())


def test_every_feature_says_where_it_came_from(engine: Engine) -> None:
    from service.models import LAYER_MODELS

    with engine.connect() as conn:
        for layer in LAYER_MODELS:
            count, bad = conn.execute(
                text(
                    f"""SELECT count(*), count(*) FILTER (WHERE source IS NULL OR method IS NULL
                        OR accuracy_m IS NULL OR verified OR NOT ST_IsValid(geom)) FROM {layer}"""
                )
            ).one()
            assert count > 0, layer
            assert bad == 0, layer


def test_streams_roads_and_plants(engine: Engine) -> None:
    with engine.connect() as conn:
        streams = set(conn.execute(text("SELECT name FROM streams")).scalars())
        roads = set(conn.execute(text("SELECT name FROM roads")).scalars())
        plants = {r.name: r.phase for r in conn.execute(text("SELECT name, phase FROM sewage_plants"))}
        xiang_km = conn.execute(
            text("SELECT ST_Length(geom::geography) / 1000 FROM streams WHERE name = '湘江'")
        ).scalar_one()
    assert {"湘江", "枫溪港", "陈埠港", "凿石港", "建宁港", "霞湾港", "白石港", "龙母河"} <= streams
    assert {
        "株冶路",
        "清雨路",
        "清霞路",
        "霞湾路",
        "观湖路",
        "清响路",
        "清港路",
        "临江路",
        "云峰大道",
        "黄兴大道",
    } <= roads
    assert plants["河西污水处理厂"] == "二期" and plants["金山污水处理厂"] == "一期"
    assert 150 < xiang_km < 400  # the Xiang across Zhuzhou, Xiangtan and Changsha


def test_second_setup_run_skips_unchanged_files(engine: Engine) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM layer_loads")).scalar_one()
    summary = load_bundled_layers(engine)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM layer_loads")).scalar_one()
    assert after == before
    assert "(0 loaded, 8 unchanged)" in summary


def test_green_heart_spans_the_published_extent(engine: Engine) -> None:
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) e FROM green_heart) t"
            )
        ).one()
    assert (x0, y0, x1, y1) == pytest.approx((112.85, 27.78, 113.32, 28.13), abs=0.03)  # PRODUCT.md rough extent
