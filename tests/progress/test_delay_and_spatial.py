"""Schedule classes without milestones and spatial progress against hand-computed values (decision 0270).

The point project runs 2018-01-01 .. 2018-06-30 (180 days); the line is 1000 m long; the area is a
1000 m x 500 m rectangle (500 000 m²), all drawn in EPSG:4547 so the figures are exact by construction.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine

from tests.progress.world import World, box, build_world, drop_world, geojson, post_reports


@pytest.fixture(scope="module")
def world(engine: Engine, client, auth) -> Iterator[World]:  # type: ignore[no-untyped-def]
    built = build_world(engine, "delay")
    post_reports(
        client,
        auth,
        built.ids["point"],
        [
            {"period": "2018-03", "status": "推进中", "percent": 30},
            {"period": "2018-05", "status": "推进中", "percent": 50},
            {"period": "2018-07", "status": "已完成", "percent": 100},
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["line"],
        [
            {
                "period": "2018-04",
                "status": "推进中",
                "percent": 40,
                "done_geom": geojson(LineString([(1000, 2000), (1400, 2000)])),
            },
            {"period": "2018-06", "status": "暂停", "percent": 40, "note": "征拆受阻"},
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["area"],
        [
            {"period": "2018-04", "status": "滞后", "percent": 20, "done_geom": geojson(box(6500, 1000, 7100, 1500))},
        ],
    )
    yield built
    drop_world(engine, built)


def state(client, project_id: int, as_of: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(f"/projects/{project_id}/progress", params={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()["state"]


@pytest.mark.parametrize(
    ("as_of", "status", "reason", "percent", "elapsed"),
    [
        # no milestones: only the deadline and the unit's word judge (decision 0270); elapsed time is shown only
        ("2018-01-31", "正常推进", None, 0, 16.7),  # 30/180 elapsed, nothing reported
        ("2018-02-28", "正常推进", None, 0, 32.2),  # 58/180 = 32.2 % elapsed, 0 % done: no straight line
        ("2018-03-31", "正常推进", None, 30, 49.4),
        ("2018-05-31", "正常推进", None, 50, 83.3),
        ("2018-07-15", "已完成", None, 100, 100.0),  # done in July: late reports do not make it delayed
    ],
)
def test_delay_rules_over_time(client, world: World, as_of, status, reason, percent, elapsed) -> None:  # type: ignore[no-untyped-def]
    got = state(client, world.ids["point"], as_of)
    assert (got["status"], got["delay_reason"], got["percent"]) == (status, reason, percent)
    assert got["delayed"] is (reason is not None)
    assert got["elapsed_pct"] == pytest.approx(elapsed, abs=0.05)


def test_deadline_passed_before_done_is_delayed(client, world: World) -> None:  # type: ignore[no-untyped-def]
    # the city-wide project (deadline 2018-09-30) never reported: on its last day it is not yet late
    assert state(client, world.ids["city"], "2018-09-30")["delay_reason"] is None
    got = state(client, world.ids["city"], "2018-10-01")  # never started, past its deadline
    assert (got["status"], got["delay_reason"], got["period"], got["percent"]) == (
        "应开工未开工",
        "not_started",
        None,
        0,
    )


def test_suspended_stays_suspended_and_is_overdue_after_deadline(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert state(client, world.ids["line"], "2018-06-30")["status"] == "暂停"
    assert state(client, world.ids["line"], "2018-06-30")["delayed"] is False
    late = state(client, world.ids["line"], "2019-01-31")
    assert (late["status"], late["delayed"], late["overdue"]) == ("暂停", False, True)


def test_reported_delay_and_year_end_deadline(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = state(client, world.ids["area"], "2018-04-30")
    assert (got["status"], got["delay_reason"]) == ("已开工进展缓慢", "reported")
    # no explicit deadline: the end of the plan year is the deadline; elapsed 119/364 days
    assert got["elapsed_pct"] == pytest.approx(100 * 119 / 364, abs=0.05)


def test_spatial_progress_of_a_line_in_metres(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = state(client, world.ids["line"], "2018-12-31")
    assert got["length_planned_m"] == pytest.approx(1000.0, abs=0.01)
    # the June report has no geometry: the April one still gives the built section
    assert got["length_done_m"] == pytest.approx(400.0, abs=0.01)
    assert got["spatial_progress"] == pytest.approx(0.4, abs=1e-5)
    assert state(client, world.ids["line"], "2018-03-31")["spatial_progress"] == 0


def test_spatial_progress_of_an_area_counts_only_the_part_inside(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = state(client, world.ids["area"], "2018-12-31")
    assert got["area_planned_m2"] == pytest.approx(500_000.0, rel=1e-6)
    # the treated area is 600 m x 500 m, of which 500 m x 500 m lie inside the planned rectangle
    assert got["area_done_m2"] == pytest.approx(250_000.0, rel=1e-6)
    assert got["spatial_progress"] == pytest.approx(0.5, abs=1e-5)


def test_point_projects_have_no_spatial_progress(client, world: World) -> None:  # type: ignore[no-untyped-def]
    got = state(client, world.ids["point"], "2018-12-31")
    assert got["spatial_progress"] is None and got["length_planned_m"] is None


def test_history_lists_done_measures(client, world: World) -> None:  # type: ignore[no-untyped-def]
    reports = client.get(f"/projects/{world.ids['line']}/progress").json()["reports"]
    assert [r["period"] for r in reports] == ["2018-06", "2018-04"]
    assert reports[1]["done_geom"]["type"] == "MultiLineString"
    assert reports[1]["done_measure_m"] == pytest.approx(400.0, abs=0.01)
