"""The monthly report in a real Chromium, offline: an editor opens their task, draws the built section with
Leaflet.draw's line tool (mouse clicks on the map), attaches a photo (a real JPEG made with Pillow), submits,
sees the report in the history, then finds it in the ledger's Excel export; another unit's task refuses them.
Screenshots at 1280 px and 390 px (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely.geometry import Point
from sqlalchemy import Engine, text

from tests.browser.playwright_kit import Offline, sign_in
from tests.progress.world import wgs
from tests.tasks.conftest import TaskWorld, jpeg, world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect
NOTE = "清雨路完成 1.2 公里路基"


@pytest.fixture
def clean_road(owner_engine: Engine, world: TaskWorld) -> Iterator[int]:  # noqa: F811
    road = world.ids["road"]
    yield road
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p AND period = '2018-06-01'"), {"p": road})


def _until(view: Offline, script: str, timeout_s: float = 15) -> None:
    """Poll a page expression (the strict CSP forbids the string evaluation wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while not view.page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.1)


def _screen_point(view: Offline, lon: float, lat: float) -> tuple[float, float]:
    box = view.page.locator("#report-map").bounding_box()
    assert box is not None
    x, y = view.page.evaluate(
        "([lat, lon]) => { const p = XT.lastMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon]
    )
    return box["x"] + x, box["y"] + y


def test_report_a_month_with_a_drawn_section_and_a_photo(
    desk: Offline,
    live_server: str,
    world: TaskWorld,  # noqa: F811
    clean_road: int,
    shots: Path,
    engine: Engine,
) -> None:
    road = clean_road
    sign_in(desk, live_server, world.editor, next_path=f"/tasks/{road}")
    _until(desk, "!!(window.XT && XT.state.loaded)")
    expect(desk.page.get_by_role("heading", name="3 清雨路改造")).to_be_visible()
    desk.page.get_by_role("link", name="填报本月进度").click()
    desk.page.wait_for_url(f"{live_server}/tasks/{road}/report")
    _until(desk, "!!(window.XT && XT.state.drawReady)")

    desk.page.get_by_label("填报月份").fill("2018-06")
    desk.page.get_by_label("状态").select_option("推进中")
    desk.page.get_by_label("完成比例").fill("80%")
    desk.page.get_by_label("累计完成投资（万元）").fill("3200")
    desk.page.get_by_label("进展说明").fill(NOTE)

    desk.page.locator(".leaflet-draw-draw-polyline").click()  # Leaflet.draw's line tool
    for metres in (0, 600, 1200):
        point = wgs(Point(metres, 0))
        desk.page.mouse.click(*_screen_point(desk, point.x, point.y))
        time.sleep(0.25)  # Leaflet.draw tells a click from a double click by time
    desk.page.locator(".leaflet-draw-actions a", has_text="完成").click()
    expect(desk.page.locator("#drawn-status")).to_contain_text("已绘制 1 段")
    assert '"MultiLineString"' in desk.page.locator("#f-done_geom").input_value()

    desk.page.get_by_label("佐证材料").set_input_files(
        [{"name": "清雨路现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg(640, 480)}]
    )
    desk.page.screenshot(path=str(shots / "report-form.png"), full_page=True)
    desk.page.get_by_role("button", name="提交填报").click()
    desk.page.wait_for_url(f"{live_server}/tasks/{road}#reports")
    _until(desk, "!!(window.XT && XT.state.loaded)")
    main = desk.page.locator("main")
    expect(main).to_contain_text("已保存 2018-06 的进度报告，1 个佐证文件")
    first = desk.page.locator("table.reports tbody tr").first.inner_text()
    assert "2018-06" in first and "80%" in first and NOTE in first and world.editor.name in first
    assert "清雨路现场.jpg" in desk.page.locator("#evidence").inner_text()
    assert desk.page.evaluate("XT.state.done") == 1  # the drawn section is on the task's map
    desk.page.screenshot(path=str(shots / "task-page.png"), full_page=True)

    with engine.connect() as conn:
        metres = conn.execute(
            text(
                "SELECT ST_Length(ST_Transform(done_geom, 4547)) FROM progress_reports"
                " WHERE project_id = :p AND period = '2018-06-01'"
            ),
            {"p": road},
        ).scalar_one()
    assert metres == pytest.approx(1200, rel=0.05)  # three clicks on the road, as drawn

    desk.page.goto(f"{live_server}/ledger?plan={world.plan}")
    with desk.page.expect_download() as download:
        desk.page.get_by_role("link", name="Excel").click()
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    header = next(r for r in rows if "序号" in r)
    found = [dict(zip(header, r, strict=False)) for r in rows if r and r[header.index("序号")] == "3"]
    assert len(found) == 1 and found[0]["完成进度"] == pytest.approx(0.8) and found[0]["最新进展"] == NOTE
    assert desk.aborted == [] and desk.csp == []


def test_another_units_task_refuses_the_form(desk: Offline, live_server: str, world: TaskWorld) -> None:  # noqa: F811
    sign_in(desk, live_server, world.editor, next_path=f"/tasks/{world.ids['other']}/report")
    main = desk.page.locator("main")
    expect(main.get_by_role("heading", name="无权填报")).to_be_visible()
    assert "株洲市石峰区人民政府" in main.inner_text() and "株洲市芦淞区人民政府" in main.inner_text()
    assert desk.page.locator("#f-percent").count() == 0 and desk.page.locator("#report-map").count() == 0
    assert desk.aborted == [] and desk.csp == []


def test_phone_width_the_task_and_its_form_fit(
    phone: Offline,
    live_server: str,
    world: TaskWorld,  # noqa: F811
    shots: Path,
) -> None:
    road = world.ids["road"]
    sign_in(phone, live_server, world.editor, next_path=f"/tasks/{road}")
    _until(phone, "!!(window.XT && XT.state.loaded)")
    phone.page.screenshot(path=str(shots / "task-page-phone.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0  # the history scrolls inside its frame
    phone.page.goto(f"{live_server}/tasks/{road}/report")
    _until(phone, "!!(window.XT && XT.state.drawReady)")
    phone.page.screenshot(path=str(shots / "report-form-phone.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    assert phone.page.get_by_role("button", name="提交填报").is_visible()
    assert phone.aborted == [] and phone.csp == []
