"""A planner, in a real Chromium and offline, sets a task's milestones, makes the quarterly evaluation of the
plan, reads it, and downloads its PDF and .xlsx (issue 17).  Screenshots at 1280 px and 390 px
(``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the README)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, text

from tests.browser.playwright_kit import Offline, sign_in
from tests.tasks.conftest import TaskWorld, world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def plan(owner_engine: Engine, world: TaskWorld) -> Iterator[str]:  # noqa: F811
    yield world.plan
    with owner_engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM evaluations WHERE plan_id = :p"), {"p": world.plan}).scalars().all()
        conn.execute(text("DELETE FROM evaluation_files WHERE evaluation_id = ANY(:ids)"), {"ids": list(ids)})
        conn.execute(text("DELETE FROM evaluations WHERE id = ANY(:ids)"), {"ids": list(ids)})
        conn.execute(text("DELETE FROM task_milestones WHERE project_id = ANY(:p)"), {"p": list(world.ids.values())})


def test_a_planner_makes_the_quarterly_evaluation_and_downloads_it(
    desk: Offline,
    phone: Offline,
    live_server: str,
    world: TaskWorld,  # noqa: F811
    plan: str,
    shots: Path,
) -> None:
    road = world.ids["road"]
    sign_in(desk, live_server, world.coordinator, next_path=f"/tasks/{road}/milestones")
    desk.page.get_by_role("button", name="保存节点").click()  # the backward schedule, as proposed
    desk.page.wait_for_url(f"{live_server}/tasks/{road}")

    desk.page.get_by_role("navigation", name="主导航").get_by_role("link", name="评估").click()
    desk.page.wait_for_url(f"{live_server}/evaluations")
    desk.page.get_by_label("评估类型").select_option("quarterly")
    desk.page.get_by_label("截至日期").fill("2018-09-30")
    desk.page.get_by_label("范围").select_option(plan)
    desk.page.screenshot(path=str(shots / "evaluations-list.png"), full_page=True)
    desk.page.get_by_role("button", name="生成评估").click()
    desk.page.wait_for_url(f"{live_server}/evaluations/*")
    expect(desk.page.get_by_role("heading", level=1)).to_contain_text("2018年第三季度评估")
    expect(desk.page.locator(".flash")).to_contain_text("已生成并冻结")
    expect(desk.page.locator(".ev-board")).to_contain_text("株洲市")
    desk.page.screenshot(path=str(shots / "evaluation-page.png"), full_page=True)

    pdf_href = desk.page.get_by_role("link", name="评估报告 PDF").get_attribute("href")
    pdf = desk.page.request.get(f"{live_server}{pdf_href}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    with desk.page.expect_download() as download_info:
        desk.page.get_by_role("link", name="统计表 Excel").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    assert {"概要", "按单位", "考核得分", "滞后及应开工未开工", "全部任务"} <= set(workbook.sheetnames)
    assert desk.aborted == [] and desk.csp == []

    sign_in(phone, live_server, world.coordinator, next_path=desk.page.url.removeprefix(live_server))
    expect(phone.page.get_by_role("link", name="评估报告 PDF")).to_be_visible()
    phone.page.screenshot(path=str(shots / "evaluation-phone.png"), full_page=True)
    wide = phone.page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth"
        " && !e.closest('.table-wrap')).map(e => e.tagName + '.' + e.className).slice(0, 8)"
    )
    assert phone.horizontal_overflow() <= 0, wide  # the tables scroll inside their frames
    assert phone.aborted == []
