"""A planner sets a task's milestones in a real Chromium, offline: opens the task, follows 节点计划, finds the
backward schedule filled in, moves the start milestone, saves, and the task page judges by it.
Screenshots at 1280 px and 390 px (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.browser.playwright_kit import Offline, sign_in
from tests.tasks.conftest import TaskWorld, world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def road(owner_engine: Engine, world: TaskWorld) -> Iterator[int]:  # noqa: F811
    task = world.ids["road"]
    yield task
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM task_milestones WHERE project_id = :p"), {"p": task})


def test_a_planner_sets_milestones(
    desk: Offline,
    phone: Offline,
    live_server: str,
    world: TaskWorld,  # noqa: F811
    road: int,
    shots: Path,
    engine: Engine,
) -> None:
    sign_in(desk, live_server, world.coordinator, next_path=f"/tasks/{road}")
    desk.page.get_by_role("link", name="节点计划").click()
    desk.page.wait_for_url(f"{live_server}/tasks/{road}/milestones")
    expect(desk.page.locator(".notice")).to_contain_text("按完成时限倒排的建议")
    assert desk.page.get_by_label("第 4 个节点名称").input_value() == "竣工验收"
    desk.page.screenshot(path=str(shots / "milestones-proposal.png"), full_page=True)
    desk.page.get_by_label("第 1 个节点日期").fill("2018-03-31")
    desk.page.get_by_role("button", name="保存节点").click()
    desk.page.wait_for_url(f"{live_server}/tasks/{road}")
    expect(desk.page.locator("body")).to_contain_text("节点计划")
    desk.page.screenshot(path=str(shots / "milestones-task-page.png"), full_page=True)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, due::text FROM task_milestones WHERE project_id = :p ORDER BY due"), {"p": road}
        ).all()
    assert rows[0] == ("开工", "2018-03-31") and len(rows) == 4
    assert desk.aborted == [] and desk.csp == []

    sign_in(phone, live_server, world.coordinator, next_path=f"/tasks/{road}/milestones")
    expect(phone.page.get_by_label("第 1 个节点日期")).to_have_value("2018-03-31")
    assert phone.horizontal_overflow() <= 0  # nothing wider than the phone
    phone.page.screenshot(path=str(shots / "milestones-phone.png"), full_page=True)
