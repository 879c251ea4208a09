"""The plan upload in a real Chromium, offline, strict CSP: a coordinator signs in, uploads the broken office
sheet and sees each problem with its row, column and reason and no commit button; uploads the clean one, sees
the preview, commits, and finds the tasks in /ledger.  Screenshots (``XIANGMAP_SCREENSHOTS``; docs/screenshots/
for the docs): plan-upload-form.png, plan-upload-preview.png (1280 px), plan-upload-preview-phone.png (390 px)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.playwright_kit import Offline, sign_in
from tests.plan_uploads.conftest import TAG, planners, sheets  # noqa: F401  (fixtures)
from tests.plan_uploads.office_sheet import BROKEN_PROBLEMS, CLEAN_TASKS
from tests.web.conftest import WebUser

expect = pytest.importorskip("playwright.sync_api").expect
ISSUES = "#problems li.pu-issue"


def _upload(view: Offline, path: Path, plan: str) -> None:
    view.page.set_input_files("#f-file", str(path))
    view.page.get_by_label("计划编号").fill(plan)
    view.page.get_by_role("button", name="上传并预览").click()
    view.page.wait_for_selector("h1:has-text('导入预览')")


def test_upload_broken_then_clean_commit_and_find_the_tasks_in_the_ledger(
    desk: Offline,
    live_server: str,
    planners: dict[str, WebUser],  # noqa: F811
    sheets: dict[str, Path],  # noqa: F811
    shots: Path,
) -> None:
    plan = f"{TAG}-browser"
    sign_in(desk, live_server, planners["coordinator"], next_path="/plans/upload")
    assert desk.page.get_by_role("heading", name="导入计划").is_visible()
    desk.page.screenshot(path=str(shots / "plan-upload-form.png"), full_page=True)

    _upload(desk, sheets["broken"], plan)
    issues = desk.page.locator(ISSUES)
    expect(issues).to_have_count(5)  # 市住建居 is merged over two rows: reported on both
    shown = issues.all_inner_texts()
    for row, column in BROKEN_PROBLEMS.values():
        assert any(f"第 {row} 行 · {column}" in text for text in shown), (row, column)
    assert any("市住建居" in t and "株洲市住房和城乡建设局" in t for t in shown)
    assert any("尽快" in t for t in shown) and any("任务内容为空" in t for t in shown)
    assert desk.page.get_by_role("button", name="确认提交").count() == 0

    desk.page.goto(f"{live_server}/plans/upload")
    _upload(desk, sheets["clean"], plan)
    assert desk.page.locator(ISSUES).count() == 0
    assert f"{CLEAN_TASKS} 新增" in desk.page.locator(".pu-counts").inner_text()
    assert "读自标题行" in desk.page.locator("main").inner_text()
    desk.page.screenshot(path=str(shots / "plan-upload-preview.png"), full_page=False)
    desk.page.get_by_role("button", name="确认提交").click()
    desk.page.wait_for_url(f"{live_server}/ledger?plan={plan}")
    assert f"新增 {CLEAN_TASKS} 项" in desk.page.locator(".flash").inner_text()
    rows = desk.page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(CLEAN_TASKS)
    table = desk.page.locator("#ledger-table").inner_text()
    assert "环保市场化改革" in table and "生态保护管理机制改革" in table and "市清水塘搬迁改造指挥部办公室" in table
    assert desk.aborted == [] and desk.csp == []


def test_preview_on_a_phone_does_not_scroll_sideways(
    phone: Offline,
    live_server: str,
    planners: dict[str, WebUser],  # noqa: F811
    sheets: dict[str, Path],  # noqa: F811
    shots: Path,
) -> None:
    from service.database import session_scope
    from service.plan_uploads import usecases

    plan, name = f"{TAG}-phone", planners["coordinator"].name
    with session_scope() as session:  # the plan as committed last month; the office then edited two tasks
        first = usecases.preview_upload(
            session, name, "plan.xlsx", sheets["clean"].read_bytes(), {"plan": plan}, role="coordinator"
        )
        usecases.commit_upload(session, name, first.upload_id, role="coordinator")
    sign_in(phone, live_server, planners["coordinator"], next_path="/plans/upload")
    assert phone.horizontal_overflow() <= 0
    _upload(phone, sheets["edited"], plan)
    counts = phone.page.locator(".pu-counts").inner_text()
    assert "0 新增" in counts and "2 更新" in counts and f"{CLEAN_TASKS - 2} 不变" in counts
    expect(phone.page.locator(".pu-changes")).to_have_count(2)
    assert "2018年9月底前" in phone.page.locator(".pu-changes").all_inner_texts()[1]
    assert phone.page.get_by_role("button", name="确认提交").is_visible()
    phone.page.screenshot(path=str(shots / "plan-upload-preview-phone.png"), full_page=False)
    assert phone.horizontal_overflow() <= 0
    assert phone.aborted == [] and phone.csp == []
