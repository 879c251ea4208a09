"""The case list in a real Chromium, offline: filter by status (htmx swaps the table and the map reloads with
the same filter), a phone's width, and the progress map's case layer switched on.  Screenshots at desk and
phone widths (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.playwright_kit import Offline, sign_in
from tests.case_list.conftest import TAG, CaseWorld, world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser
ROWS = "#case-table tbody tr"


def _drawn(view: Offline, loads: int) -> dict:
    """The map's state once it has drawn ``loads`` times (read from its attributes: the CSP allows no eval)."""
    el = view.page.locator("#case-map")
    expect(el).to_have_attribute("data-drawn", str(loads), timeout=30_000)
    return {"features": int(el.get_attribute("data-features") or -1), "query": el.get_attribute("data-query") or ""}


def test_filter_by_status_updates_the_table_and_the_map(
    desk: Offline,
    live_server: str,
    world: CaseWorld,  # noqa: F811
    shots: Path,
) -> None:
    sign_in(desk, live_server, world.inspector)
    desk.page.goto(f"{live_server}/cases?q={TAG}")
    desk.page.wait_for_selector(ROWS)
    assert desk.page.locator(ROWS).count() == len(world.ids)
    assert _drawn(desk, 1)["features"] == len(world.ids)
    desk.page.screenshot(path=str(shots / "case-list.png"), full_page=True)
    # one case: its marker opens the popup linking to the case; a cluster zooms in to what it holds
    single = desk.page.locator(".leaflet-marker-icon.cm")
    singles = single.count()
    assert singles >= 1
    single.first.click()
    expect(desk.page.locator(".cm-popup a[href^='/cases/']")).to_have_text("查看案件 »")
    desk.page.keyboard.press("Escape")
    clusters = desk.page.locator(".leaflet-marker-icon.cc")
    assert clusters.count() >= 1
    zoom = float(desk.page.locator("#case-map").get_attribute("data-zoom") or 0)
    clusters.first.click()
    expect(desk.page.locator("#case-map")).not_to_have_attribute("data-zoom", re.compile(rf"^{zoom:g}$"))
    assert float(desk.page.locator("#case-map").get_attribute("data-zoom") or 0) > zoom
    desk.page.goto(f"{live_server}/cases?q={TAG}")  # back to the whole extent for the filters below
    _drawn(desk, 1)
    desk.page.get_by_label("状态").select_option("逾期")
    expect(desk.page.locator(ROWS)).to_have_count(2)  # htmx swapped the table
    state = _drawn(desk, 2)
    assert state["features"] == 2 and "status=%E9%80%BE%E6%9C%9F" in state["query"]  # the map followed
    assert "status=%E9%80%BE%E6%9C%9F" in desk.page.url  # the filtered list is a link
    desk.page.get_by_label("状态").select_option("整改中")
    expect(desk.page.locator(ROWS)).to_have_count(3)
    assert _drawn(desk, 3)["features"] == 3
    assert "<script>alert('x')</script>绿心违建" in desk.page.locator("#case-table").inner_text()  # as text
    assert desk.page.locator(".leaflet-marker-icon").count() >= 1
    assert desk.aborted == [] and desk.csp == []


def test_phone_width(phone: Offline, live_server: str, world: CaseWorld, shots: Path) -> None:  # noqa: F811
    sign_in(phone, live_server, world.editor)
    phone.page.goto(f"{live_server}/cases?q={TAG}")
    phone.page.wait_for_selector(ROWS)
    assert phone.page.locator(ROWS).count() == 5  # the editor's unit and the town under it
    _drawn(phone, 1)
    phone.page.screenshot(path=str(shots / "case-list-phone.png"), full_page=False)
    assert phone.horizontal_overflow() <= 0
    assert phone.page.get_by_role("button", name="筛选").is_visible()
    assert phone.aborted == [] and phone.csp == []


def test_the_progress_maps_case_layer(chromium: object, live_server: str, world: CaseWorld, shots: Path) -> None:  # noqa: F811
    desk = Offline(chromium, 1280, 960)
    sign_in(desk, live_server, world.inspector)
    desk.page.goto(f"{live_server}/maps/progress?basemap=none")
    body = desk.page.locator("body")
    expect(body).to_have_attribute("data-xm-drawn", "1", timeout=30_000)
    assert body.get_attribute("data-xm-cases") is None  # off by default: not even fetched
    desk.page.locator(".leaflet-control-layers").hover()
    desk.page.get_by_label("案件（按状态，红圈为逾期）").check()
    expect(body).to_have_attribute("data-xm-cases", re.compile(r"^\d+$"), timeout=30_000)
    assert int(body.get_attribute("data-xm-cases") or 0) >= len(world.ids)
    desk.page.mouse.move(600, 500)
    desk.page.screenshot(path=str(shots / "progress-map-cases.png"), full_page=False)
    assert desk.aborted == []
    desk.close()
