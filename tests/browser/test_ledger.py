"""The ledger in a real Chromium, offline: sign in, open /ledger, filter by a unit (htmx swaps the table),
see the rows; screenshots at desk and phone widths (``XIANGMAP_SCREENSHOTS``, docs/screenshots/ for the docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.playwright_kit import Offline, sign_in
from tests.ledger.conftest import LedgerWorld, world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect
ROWS = "#ledger-table tbody tr"


def _open(view: Offline, live_server: str, world: LedgerWorld) -> None:  # noqa: F811
    sign_in(view, live_server, world.coordinator, next_path="/me")
    view.page.goto(f"{live_server}/ledger?plan={world.plan}&as_of=2018-03")
    view.page.wait_for_selector(ROWS)


def test_filter_by_unit_refreshes_the_table(desk: Offline, live_server: str, world: LedgerWorld, shots: Path) -> None:  # noqa: F811
    _open(desk, live_server, world)
    assert desk.page.locator(ROWS).count() == 4
    assert desk.page.get_by_role("heading", name="台账").is_visible()
    desk.page.get_by_label("单位").select_option(str(world.units["luosong"]))
    expect(desk.page.locator(ROWS)).to_have_count(1)  # htmx swapped the table (CSP: no eval in waits)
    row = desk.page.locator(ROWS).first.inner_text()
    assert "完成湘江治理" in row and "芦淞区人民政府" in row and "正常推进" in row and "50%" in row
    assert f"unit={world.units['luosong']}" in desk.page.url  # the filtered ledger is a link (hx-push-url)
    desk.page.get_by_label("单位").select_option("")
    expect(desk.page.locator(ROWS)).to_have_count(4)
    desk.page.screenshot(path=str(shots / "ledger.png"), full_page=True)
    assert "<script>alert(1)</script>清水塘整治" in desk.page.locator(ROWS).nth(3).inner_text()  # shown as text
    assert desk.aborted == [] and desk.csp == []


def test_phone_width_the_page_does_not_scroll_sideways(
    phone: Offline,
    live_server: str,
    world: LedgerWorld,  # noqa: F811
    shots: Path,
) -> None:
    _open(phone, live_server, world)
    assert phone.page.locator(ROWS).count() == 4
    phone.page.screenshot(path=str(shots / "ledger-phone.png"), full_page=False)
    assert phone.horizontal_overflow() <= 0  # the table scrolls inside its frame, not the page
    assert phone.page.get_by_role("button", name="筛选").is_visible()
    assert phone.aborted == [] and phone.csp == []
