"""A district editor uploads the office sheet in a real Chromium, offline, strict CSP (issue 15's "done when",
decision 0183): a 石峰区 editor finds 导入计划 in the top bar, uploads the sheet as written, sees the plan owned by
石峰区 and the tasks that name none of its units marked, commits, and lands on the plan in their own ledger with
only the tasks where 石峰区 is lead or responsible.  Screenshots (``XIANGMAP_SCREENSHOTS``):
plan-upload-editor-preview.png (1280 px), plan-upload-editor-phone.png (390 px)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.playwright_kit import Offline, sign_in
from tests.plan_uploads.conftest import TAG, planners, sheets  # noqa: F401  (fixtures)
from tests.plan_uploads.office_sheet import CLEAN_TASKS
from tests.web.conftest import WebUser, make_user

expect = pytest.importorskip("playwright.sync_api").expect
SHIFENG = "株洲市石峰区人民政府"
NOT_SHIFENG = 4  # tasks of the sheet naming none of 石峰区's units (tests/plan_uploads/test_own_plans.py)


@pytest.fixture(scope="module")
def shifeng_editor(planners: dict[str, WebUser]) -> WebUser:  # noqa: F811  (removed with the planners)
    from service.database import session_scope
    from service.units import usecases as units

    user = make_user(f"{TAG}-shifeng-editor", "editor")
    with session_scope() as session:
        units.assign_user(session, "test", user.name, units.find_unit_id(session, SHIFENG))
    return user


def _upload(view: Offline, path: Path, plan: str) -> None:
    view.page.set_input_files("#f-file", str(path))
    view.page.get_by_label("计划编号").fill(plan)
    view.page.get_by_role("button", name="上传并预览").click()
    view.page.wait_for_selector("h1:has-text('导入预览')")


def test_a_district_editor_uploads_the_office_sheet_and_sees_its_tasks_in_the_ledger(
    desk: Offline,
    live_server: str,
    shifeng_editor: WebUser,
    sheets: dict[str, Path],  # noqa: F811
    shots: Path,
) -> None:
    plan = f"{TAG}-shifeng"
    sign_in(desk, live_server, shifeng_editor)
    desk.page.get_by_role("link", name="导入计划").click()
    desk.page.wait_for_selector("h1:has-text('导入计划')")
    assert SHIFENG in desk.page.locator(".pu-owner").inner_text()

    _upload(desk, sheets["clean"], plan)
    main = desk.page.locator("main").inner_text()
    assert f"{CLEAN_TASKS} 新增" in desk.page.locator(".pu-counts").inner_text()
    assert "归属" in main and SHIFENG in main
    expect(desk.page.locator(".pu-badge-outside")).to_have_count(NOT_SHIFENG)
    note = desk.page.locator(".pu-note", has_text="不会出现在你的台账里").inner_text()
    assert f"有 {NOT_SHIFENG} 项任务" in note
    desk.page.screenshot(path=str(shots / "plan-upload-editor-preview.png"), full_page=False)
    desk.page.get_by_role("button", name="确认提交").click()
    desk.page.wait_for_url(f"{live_server}/ledger?plan={plan}")
    assert f"新增 {CLEAN_TASKS} 项" in desk.page.locator(".flash").inner_text()
    rows = desk.page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(CLEAN_TASKS - NOT_SHIFENG)  # their unit's: lead or responsible, directly or not
    table = desk.page.locator("#ledger-table").inner_text()
    assert "基本完成职工安置" in table and "全面关停企业" in table and "环保市场化改革" in table
    assert "国家低碳城市试点" not in table  # 市发改委, 市统计局, 市两型办: not 石峰区's
    assert desk.aborted == [] and desk.csp == []


def test_the_editors_preview_on_a_phone(
    phone: Offline,
    live_server: str,
    shifeng_editor: WebUser,
    sheets: dict[str, Path],  # noqa: F811
    shots: Path,
) -> None:
    sign_in(phone, live_server, shifeng_editor, next_path="/plans/upload")
    _upload(phone, sheets["clean"], f"{TAG}-shifeng-phone")
    expect(phone.page.locator(".pu-badge-outside")).to_have_count(NOT_SHIFENG)
    phone.page.locator(".pu-note", has_text="不会出现在你的台账里").scroll_into_view_if_needed()
    phone.page.screenshot(path=str(shots / "plan-upload-editor-phone.png"), full_page=False)
    assert phone.horizontal_overflow() <= 0
    assert phone.aborted == [] and phone.csp == []
