"""Milestones change a task's schedule class as expected at chosen dates (issue 17).

The world's ``line`` task runs in 2018 to 2018-12-31.  Its milestones: 开工 by 2018-03-31 (works begun,
5 %), 主体完工 by 2018-09-30 (80 %), 竣工验收 by 2018-12-31 (100 %).  A milestone's date is the last day it
may be reached, so it counts from the next day.  Tolerance: 0 points (the default).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from service.milestones.backward import Milestone, propose
from service.milestones.checks import problems
from tests.progress.world import World, build_world, drop_world, post_reports

MILESTONES = [
    {"name": "开工", "due": "2018-03-31", "planned_percent": 5, "starts_work": True},
    {"name": "主体完工", "due": "2018-09-30", "planned_percent": 80},
    {"name": "竣工验收", "due": "2018-12-31", "planned_percent": 100},
]


@pytest.fixture(scope="module")
def world(engine: Engine, client, auth) -> Iterator[World]:  # type: ignore[no-untyped-def]
    built = build_world(engine, "ms")
    r = client.put(
        f"/projects/{built.ids['line']}/milestones", json={"milestones": MILESTONES}, headers=auth["coordinator"]
    )
    assert r.status_code == 200, r.text
    yield built
    drop_world(engine, built)


def state(client, project_id: int, as_of: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(f"/projects/{project_id}/progress", params={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()["state"]


def test_not_started_before_and_after_the_start_milestone(world: World, client) -> None:  # type: ignore[no-untyped-def]
    line = world.ids["line"]
    before = state(client, line, "2018-03-31")
    assert (before["status"], before["delay_reason"]) == ("正常推进", None)  # the start is not due yet
    after = state(client, line, "2018-04-01")
    assert (after["status"], after["delay_reason"]) == ("应开工未开工", "not_started")


def test_started_on_schedule_then_behind_its_milestone_then_caught_up(world: World, client, auth) -> None:  # type: ignore[no-untyped-def]
    line = world.ids["line"]
    post_reports(client, auth, line, [{"period": "2018-04", "status": "推进中", "percent": 30}])
    april = state(client, line, "2018-04-20")
    assert (april["status"], april["planned_pct"]) == ("正常推进", 5.0)
    october = state(client, line, "2018-10-15")  # 主体完工 (80 %) was due by 30 September; still 30 %
    assert (october["status"], october["delay_reason"], october["planned_pct"]) == (
        "已开工进展缓慢",
        "behind_milestone",
        80.0,
    )
    post_reports(
        client,
        auth,
        line,
        [{"period": "2018-10", "status": "推进中", "percent": 85}],
    )
    assert state(client, line, "2018-10-15")["status"] == "正常推进"
    late = state(client, line, "2019-01-02")  # past the deadline and not done
    assert (late["status"], late["delay_reason"], late["overdue"]) == ("已开工进展缓慢", "deadline_passed", True)


def test_without_milestones_only_the_deadline_and_the_unit_judge(world: World, client, auth) -> None:  # type: ignore[no-untyped-def]
    area = world.ids["area"]  # no deadline: the end of 2018; no milestones; no report
    assert state(client, area, "2018-06-15")["status"] == "正常推进"  # not late by April as a straight line was
    assert state(client, area, "2019-01-05")["status"] == "应开工未开工"
    post_reports(
        client,
        auth,
        area,
        [
            {
                "period": "2018-05",
                "status": "滞后",
                "percent": 20,
                "behind_category": "拆迁",
                "behind_reason": "征地拆迁未完成",
            }
        ],
    )
    reported = state(client, area, "2018-06-15")
    assert (reported["status"], reported["delay_reason"], reported["behind_category"]) == (
        "已开工进展缓慢",
        "reported",
        "拆迁",
    )


def test_done_and_suspended_are_kept(world: World, client, auth) -> None:  # type: ignore[no-untyped-def]
    city = world.ids["city"]  # deadline 2018-09-30
    post_reports(client, auth, city, [{"period": "2018-05", "status": "暂停", "percent": 10}])
    assert state(client, city, "2018-12-01")["status"] == "暂停"
    post_reports(client, auth, city, [{"period": "2018-11", "status": "已完成", "percent": 100}])
    assert state(client, city, "2018-12-01")["status"] == "已完成"


def test_the_ledger_and_stats_show_the_same_classes(world: World, client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/stats", params={"plan": world.plan, "by": "plan", "as_of": "2018-04-15"})
    assert r.status_code == 200, r.text
    (group,) = r.json()["groups"]
    assert set(group["by_status"]) == {"正常推进", "已开工进展缓慢", "应开工未开工", "已完成", "暂停"}


def test_an_unknown_behind_category_is_refused(world: World, client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        f"/projects/{world.ids['point']}/progress",
        json={"period": "2018-03", "status": "滞后", "percent": 10, "behind_category": "天气"},
        headers=auth["coordinator"],
    )
    assert r.status_code == 400 and "资金" in r.text


def test_bad_milestones_are_refused_whole_and_keep_the_stored_set(world: World, client, auth, engine) -> None:  # type: ignore[no-untyped-def]
    line = world.ids["line"]
    bad = [
        {"name": "开工", "due": "2018-03-31", "planned_percent": 50},
        {"name": "主体完工", "due": "2018-09-30", "planned_percent": 20},
    ]
    r = client.put(f"/projects/{line}/milestones", json={"milestones": bad}, headers=auth["coordinator"])
    assert r.status_code == 422 and "主体完工" in r.text
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM task_milestones WHERE project_id = :id"), {"id": line}).scalar()
    assert kept == 3
    r = client.put(f"/projects/{line}/milestones", json={"milestones": MILESTONES}, headers=auth["editor"])
    assert r.status_code == 403


def test_backward_schedule_is_offered_and_counts_once_accepted(world: World, client, auth) -> None:  # type: ignore[no-untyped-def]
    point = world.ids["point"]  # deadline 2018-06-30, from 2018-01-01: 180 days (a quarter: 45, 60 %: 108, 85 %: 153)
    offered = client.get(f"/projects/{point}/milestones").json()
    assert offered["milestones"] == []
    assert [(m["name"], m["due"]) for m in offered["backward"]] == [
        ("开工", "2018-02-15"),
        ("完成过半", "2018-04-19"),
        ("主体完工", "2018-06-03"),
        ("竣工验收", "2018-06-30"),
    ]
    r = client.post(f"/projects/{point}/milestones/backward", headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    assert [m["source"] for m in r.json()["milestones"]] == ["backward"] * 4


def test_backward_and_checks_as_plain_functions() -> None:
    from datetime import date

    assert propose(date(2018, 1, 1), date(2018, 1, 1)) == [Milestone("竣工验收", date(2018, 1, 1), 100.0, True)]
    falling = [Milestone("a", date(2018, 2, 1), 60), Milestone("b", date(2018, 3, 1), 40)]
    assert any("b" in p for p in problems(falling, 2018))
    assert problems([Milestone("x", date(2030, 1, 1), 10)], 2018)  # far from the task's year
