"""GET /stats?by=district|category|lead_unit|plan against values computed by hand.

As of 2018-03-31 (tolerance 0 points; milestones set below):
  point   甲区  两型改革  市发改委           推进中 40 %, 100 万元, no milestones -> 正常推进
  line    甲区  碧水蓝天  市住建局, 市城管局  推进中 30 %, 300 万元, 250 of 1000 m built;
                                             50 % due by 2018-03-15 -> 已开工进展缓慢
  area    乙区  绿心保护  市林业局           已完成 100 %, 50 万元, all 500 000 m² done
  nowhere  -    两型改革  (none)             no report, 开工 due by 2018-02-28 -> 应开工未开工
  city    (precision 4: no district) 碧水蓝天 市住建局  no report, 开工 due by 2018-02-28 -> 应开工未开工
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine

from tests.progress.world import World, box, build_world, drop_world, geojson, post_reports

AS_OF = "2018-03-31"


@pytest.fixture(scope="module")
def world(engine: Engine, client, auth) -> Iterator[World]:  # type: ignore[no-untyped-def]
    built = build_world(engine, "stats")
    post_reports(
        client,
        auth,
        built.ids["point"],
        [{"period": "2018-03", "status": "推进中", "percent": 40, "investment_wan": 100}],
    )
    post_reports(
        client,
        auth,
        built.ids["line"],
        [
            {
                "period": "2018-02",
                "status": "推进中",
                "percent": 30,
                "investment_wan": 300,
                "done_geom": geojson(LineString([(1000, 2000), (1250, 2000)])),
            }
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["area"],
        [
            {
                "period": "2018-03",
                "status": "已完成",
                "percent": 100,
                "investment_wan": 50,
                "done_geom": geojson(box(6000, 1000, 7000, 1500)),
            },
            # reported after the as_of date: must not count
            {"period": "2018-04", "status": "已完成", "percent": 100, "investment_wan": 80},
        ],
    )
    start = [{"name": "开工", "due": "2018-02-28", "planned_percent": 0, "starts_work": True}]
    for key, milestones in {
        "line": [{"name": "完成过半", "due": "2018-03-15", "planned_percent": 50}],
        "nowhere": start,
        "city": start,
    }.items():
        r = client.put(
            f"/projects/{built.ids[key]}/milestones", json={"milestones": milestones}, headers=auth["coordinator"]
        )
        assert r.status_code == 200, r.text
    yield built
    drop_world(engine, built)


def groups(client, world: World, by: str, **params) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    r = client.get("/stats", params={"by": by, "plan": world.plan, "as_of": AS_OF, **params})
    assert r.status_code == 200, r.text
    assert r.json()["by"] == by
    return {g["key"]: g for g in r.json()["groups"]}


def test_by_district_is_spatial(client, world: World) -> None:  # type: ignore[no-untyped-def]
    jia, yi = world.district_names
    got = groups(client, world, "district")
    assert set(got) == {jia, yi, "未定位到区县"}
    a = got[jia]
    assert a["projects"] == 2 and a["by_status"]["正常推进"] == 1 and a["by_status"]["已开工进展缓慢"] == 1
    assert a["delayed"] == 1
    assert a["mean_percent"] == 35.0 and a["investment_wan"] == 400.0 and a["completion_rate"] == 0
    assert a["adcode"] == "T6stats1" and a["city"] == "测试市"
    assert a["spatial"]["length_planned_m"] == pytest.approx(1000.0, abs=0.1)
    assert a["spatial"]["length_done_m"] == pytest.approx(250.0, abs=0.1)
    assert a["spatial"]["length_progress"] == 0.25 and a["spatial"]["area_progress"] is None
    b = got[yi]
    assert b["projects"] == 1 and b["completion_rate"] == 1.0 and b["investment_wan"] == 50.0
    assert b["spatial"]["area_planned_m2"] == pytest.approx(500_000, abs=1) and b["spatial"]["area_progress"] == 1.0
    nowhere = got["未定位到区县"]
    assert nowhere["projects"] == 2 and nowhere["by_status"]["应开工未开工"] == 2 and nowhere["delayed"] == 2
    assert nowhere["mean_percent"] == 0 and nowhere["investment_wan"] is None


def test_by_category(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = groups(client, world, "category")
    assert {k: (g["projects"], g["mean_percent"], g["investment_wan"]) for k, g in got.items()} == {
        "两型改革": (2, 20.0, 100.0),
        "碧水蓝天": (2, 15.0, 300.0),
        "绿心保护": (1, 100.0, 50.0),
    }
    assert got["碧水蓝天"]["by_status"] == {
        "正常推进": 0,
        "已开工进展缓慢": 1,
        "应开工未开工": 1,
        "已完成": 0,
        "暂停": 0,
    }


def test_by_lead_unit_counts_each_lead(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = groups(client, world, "lead_unit")
    assert {k: g["projects"] for k, g in got.items()} == {
        "市住建局": 2,
        "市发改委": 1,
        "市城管局": 1,
        "市林业局": 1,
        "未列明": 1,
    }


def test_by_plan_totals(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = groups(client, world, "plan")[world.plan]
    assert got["title"] == "测试计划stats"
    assert got["projects"] == 5 and got["completion_rate"] == 0.2
    assert got["by_status"] == {"正常推进": 1, "已开工进展缓慢": 1, "应开工未开工": 2, "已完成": 1, "暂停": 0}
    assert got["mean_percent"] == 34.0 and got["investment_wan"] == 450.0
    assert got["spatial"]["length_progress"] == 0.25 and got["spatial"]["area_progress"] == 1.0


def test_filters_combine(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert groups(client, world, "plan", status="not_started")[world.plan]["projects"] == 2
    assert groups(client, world, "plan", status="已开工进展缓慢")[world.plan]["projects"] == 1
    in_jia = groups(client, world, "category", district=world.district_names[0])
    assert {k: g["projects"] for k, g in in_jia.items()} == {"两型改革": 1, "碧水蓝天": 1}
    assert groups(client, world, "plan", lead_unit="市住建局")[world.plan]["projects"] == 2
    assert groups(client, world, "plan", year=2019) == {}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"by": "colour"}, "by"),
        ({"by": "plan", "as_of": "someday"}, "as_of"),
        ({"by": "plan", "status": "x"}, "status"),
    ],
)
def test_bad_stats_queries_are_400(client, params, name) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/stats", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["parameter"] == name
