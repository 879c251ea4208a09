"""The monthly sheet in a real Chromium, offline: an editor signs in, downloads the sheet from the page, fills
it with openpyxl, uploads it, reads the preview, commits, and the ledger shows the new percent; the page and
the preview at phone width.  Screenshots: monthly-sheet-upload.png, monthly-sheet-preview.png,
monthly-sheet-preview-phone.png (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.browser.playwright_kit import Offline, sign_in
from tests.monthly_sheets.conftest import SheetWorld, fill, reports, sheet_world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect


def _download_and_fill(view: Offline, tmp_path: Path, period: str, fills: dict[int, dict]) -> Path:  # type: ignore[type-arg]
    view.page.get_by_label("月份").fill(period)
    with view.page.expect_download() as info:
        view.page.get_by_role("button", name="下载月报表（.xlsx）").click()
    download = info.value
    assert download.suggested_filename.endswith(f"{period}.xlsx")
    path = tmp_path / "月报.xlsx"
    download.save_as(str(path))
    book = load_workbook(path)
    for task_id, values in fills.items():
        fill(book, task_id, **values)
    book.save(path)
    return path


def test_an_editor_downloads_fills_uploads_previews_and_commits(
    desk: Offline,
    live_server: str,
    sheet_world: SheetWorld,  # noqa: F811
    shots: Path,
    tmp_path: Path,
    engine: Engine,
) -> None:
    ids = sheet_world.ids
    sign_in(desk, live_server, sheet_world.editor, next_path="/me")
    desk.page.get_by_role("link", name="月报").click()
    desk.page.wait_for_url(f"{live_server}/ledger/monthly-sheet")
    assert desk.page.get_by_role("heading", name="月报表", exact=True).is_visible()
    assert "株洲市石峰区人民政府" in desk.page.locator("main").inner_text()
    desk.page.screenshot(path=str(shots / "monthly-sheet-upload.png"), full_page=True)
    path = _download_and_fill(
        desk,
        tmp_path,
        "2018-12",
        {
            ids["a"]: {"status": "推进中", "percent": (0.9, "0%"), "investment": 3500, "note": "搬迁协议全部签订"},
            ids["e"]: {"status": "推进中", "percent": "85%", "note": "清淤完成"},
        },
    )
    # first with a mistake: a status that is not one, and a task of another unit added by hand
    book = load_workbook(path)
    fill(book, ids["b"], status="快好了", percent=50)
    foreign = book.active.max_row + 1
    book.active.cell(foreign, 1).value = ids["d"]
    book.active.cell(foreign, 9).value = "推进中"
    book.active.cell(foreign, 10).value = 0.5
    wrong = tmp_path / "有误的月报.xlsx"
    book.save(wrong)
    desk.page.get_by_label("月报表文件").set_input_files(str(wrong))
    desk.page.get_by_role("button", name="上传并预览").click()
    problems = desk.page.get_by_role("alert")
    expect(problems).to_contain_text("发现 2 处问题")
    assert (
        "状态“快好了”不是" in problems.inner_text()
        and "不是本单位（株洲市石峰区人民政府）的任务" in problems.inner_text()
    )
    assert desk.page.get_by_role("button", name="提交", exact=False).count() == 0  # no commit while problems
    desk.page.screenshot(path=str(shots / "monthly-sheet-problems.png"), full_page=False)
    desk.page.get_by_role("link", name="重新上传").click()
    # then the sheet as filled
    desk.page.get_by_label("月报表文件").set_input_files(str(path))
    desk.page.get_by_role("button", name="上传并预览").click()
    desk.page.wait_for_url(f"{live_server}/ledger/monthly-sheet")
    expect(desk.page.get_by_role("heading", name="月报预览")).to_be_visible()
    recorded = desk.page.locator("tr.row-record")
    expect(recorded).to_have_count(2)
    assert "90%" in recorded.nth(0).inner_text() and "85%" in recorded.nth(1).inner_text()
    assert reports(engine, ids["a"])[-1][0] != "2018-12"  # nothing recorded before 提交
    desk.page.screenshot(path=str(shots / "monthly-sheet-preview.png"), full_page=True)
    desk.page.get_by_role("button", name="提交 2 条进展").click()
    desk.page.wait_for_url(f"{live_server}/ledger?*")
    main = desk.page.locator("main")
    assert "月报已提交：记录 2 条进展" in main.inner_text()
    row = desk.page.locator("#ledger-table tbody tr", has_text="推进石峰区老工业区搬迁改造")
    assert "90%" in row.inner_text() and "搬迁协议全部签订" in row.inner_text()
    assert reports(engine, ids["a"])[-1][:3] == ("2018-12", "推进中", 90.0)
    assert desk.aborted == [] and desk.csp == []


def test_the_page_and_the_preview_fit_a_phone(
    phone: Offline,
    live_server: str,
    sheet_world: SheetWorld,  # noqa: F811
    shots: Path,
    tmp_path: Path,
) -> None:
    sign_in(phone, live_server, sheet_world.editor, next_path="/ledger/monthly-sheet")
    assert phone.horizontal_overflow() <= 0
    path = _download_and_fill(
        phone, tmp_path, "2018-10", {sheet_world.ids["e"]: {"status": "滞后", "percent": 0.4, "reason": "资金未到位"}}
    )
    phone.page.get_by_label("月报表文件").set_input_files(str(path))
    phone.page.get_by_role("button", name="上传并预览").click()
    expect(phone.page.get_by_role("heading", name="月报预览")).to_be_visible()
    expect(phone.page.locator("tr.row-record")).to_have_count(1)
    assert phone.horizontal_overflow() <= 0  # the table scrolls inside its frame, not the page
    assert phone.page.get_by_role("button", name="提交 1 条进展").is_visible()
    phone.page.screenshot(path=str(shots / "monthly-sheet-preview-phone.png"), full_page=False)
    assert phone.aborted == [] and phone.csp == []
