"""The milestone page: a planner sees the backward proposal, saves it, and a wrong row is refused beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.progress.world import World, build_world, drop_world
from tests.web.conftest import csrf_of, make_user, signed_in_browser


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    built = build_world(engine, "mspage")
    yield built
    drop_world(engine, built)


@pytest.fixture(scope="module")
def planner(app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    yield from signed_in_browser(app, make_user("ms-planner", "coordinator"))


@pytest.fixture(scope="module")
def reader(app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    yield from signed_in_browser(app, make_user("ms-reader", "viewer"))


def test_backward_proposal_saved_from_the_page(world: World, planner: TestClient, engine: Engine) -> None:
    task = world.ids["line"]  # deadline 2018-12-31
    page = planner.get(f"/tasks/{task}/milestones")
    assert page.status_code == 200 and "按完成时限倒排的建议" in page.text and 'value="竣工验收"' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "name_0": "开工",
        "due_0": "2018-04-02",
        "pct_0": "5",
        "starts_0": "on",
        "name_1": "竣工验收",
        "due_1": "2018-12-31",
        "pct_1": "100%",
    }
    saved = planner.post(f"/tasks/{task}/milestones", data=form)
    assert saved.status_code == 303, saved.text
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, starts_work FROM task_milestones WHERE project_id = :id ORDER BY due"), {"id": task}
        ).all()
    assert [tuple(r) for r in rows] == [("开工", True), ("竣工验收", False)]
    assert "节点计划</dt><dd>100%（竣工验收）" in planner.get(f"/tasks/{task}").text  # all due by today


def test_a_wrong_row_is_named_and_nothing_changes(world: World, planner: TestClient, engine: Engine) -> None:
    task = world.ids["line"]
    page = planner.get(f"/tasks/{task}/milestones")
    bad = {"csrf_token": csrf_of(page.text), "name_0": "开工", "due_0": "2018-13-01", "pct_0": "5"}
    refused = planner.post(f"/tasks/{task}/milestones", data=bad)
    assert refused.status_code == 422 and "第 1 行" in refused.text and 'value="2018-13-01"' in refused.text
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM task_milestones WHERE project_id = :id"), {"id": task}).scalar()
    assert kept == 2


def test_a_viewer_sees_but_cannot_save(world: World, reader: TestClient) -> None:
    task = world.ids["point"]
    page = reader.get(f"/tasks/{task}/milestones")
    assert page.status_code == 200 and "只有统筹协调人员可以修改节点" in page.text
    r = reader.post(f"/tasks/{task}/milestones", data={"csrf_token": csrf_of(page.text), "name_0": "开工"})
    assert r.status_code == 403
