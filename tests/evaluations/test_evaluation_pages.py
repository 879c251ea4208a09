"""The evaluation pages: a planner makes one from the form (CSRF), everyone signed in reads it, what it shows
is escaped, and a bad form is answered beside the form with nothing made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.evaluations.world import EvaluationWorld, build, drop
from tests.web.conftest import csrf_of, make_user, signed_in_browser

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[EvaluationWorld]:  # type: ignore[no-untyped-def]
    built = build(engine, owner_engine, client, auth, "evp")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE projects SET title = :t WHERE id = :id"),
            {"t": f"{HOSTILE}应开工任务", "id": built.world.ids["point"]},
        )
    yield built
    drop(engine, owner_engine, built)


@pytest.fixture(scope="module")
def planner(app: FastAPI) -> Iterator[TestClient]:
    yield from signed_in_browser(app, make_user("ev-planner", "coordinator"))


@pytest.fixture(scope="module")
def reader(app: FastAPI) -> Iterator[TestClient]:
    yield from signed_in_browser(app, make_user("ev-reader", "viewer"))


def _count(engine: Engine, plan: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM evaluations WHERE plan_id = :p"), {"p": plan}).scalar_one()


def test_a_planner_makes_an_evaluation_from_the_page(
    world: EvaluationWorld, planner: TestClient, reader, engine
) -> None:  # type: ignore[no-untyped-def]
    page = planner.get("/evaluations")
    assert page.status_code == 200 and "生成评估" in page.text
    form = {"csrf_token": csrf_of(page.text), "kind": "quarterly", "as_of": "2018-09-30", "plan": world.plan}
    made = planner.post("/evaluations", data=form)
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    shown = reader.get(location)
    assert shown.status_code == 200
    assert "2018年第三季度评估" in shown.text and "单位考核得分" in shown.text
    assert HOSTILE not in shown.text and "&lt;script&gt;alert(1)&lt;/script&gt;应开工任务" in shown.text
    assert world.units["zj"] in shown.text and "按期销号 1/2" in shown.text
    assert "生成评估" not in reader.get("/evaluations").text  # a viewer reads, does not make


def test_a_bad_form_is_answered_beside_it_and_nothing_is_made(world: EvaluationWorld, planner, reader, engine) -> None:  # type: ignore[no-untyped-def]
    before = _count(engine, world.plan)
    page = planner.get("/evaluations")
    bad = planner.post(
        "/evaluations",
        data={"csrf_token": csrf_of(page.text), "kind": "quarterly", "as_of": "30/09/2018", "plan": world.plan},
    )
    assert bad.status_code == 400 and "不是 YYYY-MM-DD" in bad.text
    refused = reader.post(
        "/evaluations",
        data={"csrf_token": csrf_of(reader.get("/evaluations").text), "kind": "quarterly", "as_of": "2018-09-30"},
    )
    assert refused.status_code == 403
    no_token = planner.post("/evaluations", data={"kind": "quarterly", "as_of": "2018-09-30", "plan": world.plan})
    assert no_token.status_code == 403
    assert _count(engine, world.plan) == before


def test_the_comparison_page(world: EvaluationWorld, planner: TestClient) -> None:
    page = planner.get("/evaluations")
    token = csrf_of(page.text)
    ids = []
    for day in ("2018-09-30", "2018-10-15"):
        made = planner.post(
            "/evaluations", data={"csrf_token": token, "kind": "monthly", "as_of": day, "plan": world.plan}
        )
        assert made.status_code == 303, made.text
        ids.append(int(made.headers["location"].rsplit("/", 1)[1]))
    shown = planner.get("/evaluations/compare", params={"from": ids[0], "to": ids[1]})
    assert shown.status_code == 200
    assert "分类有变化的任务" in shown.text and "已开工进展缓慢（退步）" in shown.text
