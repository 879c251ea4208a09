"""An editor works the review queue in a real Chromium, offline: opens the queue, opens a task, sees the spans
marked and the candidate on the map, ticks it on the map, accepts it, and the queue says so.  At 1280 px and
390 px (no sideways scroll on the phone); screenshots in ``XIANGMAP_SCREENSHOTS``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.browser.playwright_kit import Offline, sign_in
from tests.review_pages.conftest import ReviewWorld, review_world  # noqa: F401  (fixture)

expect = pytest.importorskip("playwright.sync_api").expect


def _until(view: Offline, script: str, seconds: float = 10) -> None:
    """Poll a page expression (the strict CSP forbids the string evaluation wait_for_function uses)."""
    deadline = time.monotonic() + seconds
    while not view.page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        view.page.wait_for_timeout(50)


def test_accept_a_candidate_in_the_browser(
    desk: Offline,
    phone: Offline,
    live_server: str,
    review_world: ReviewWorld,  # noqa: F811
    shots: Path,
    engine: Engine,
) -> None:
    pid = review_world.ids["accept"]
    sign_in(desk, live_server, review_world.editor, next_path="/review")
    expect(desk.page.get_by_role("heading", name="待定位任务")).to_be_visible()
    desk.page.screenshot(path=str(shots / "review-queue.png"), full_page=True)
    desk.page.get_by_role("link", name="道路提质").click()
    desk.page.wait_for_url(f"{live_server}/review/{pid}")
    _until(desk, "!!(window.REVIEW && REVIEW.loaded && REVIEW.candidates === 1)")
    expect(desk.page.locator(".review-text mark.hl-match")).to_have_text(review_world.road["name"])
    desk.page.locator("#review-map path.leaflet-interactive").first.click(force=True)  # the candidate on the map
    expect(desk.page.get_by_role("checkbox")).to_be_checked()
    desk.page.screenshot(path=str(shots / "review-task.png"), full_page=True)
    desk.page.get_by_role("button", name="采用所选地点").click()
    desk.page.wait_for_url(f"{live_server}/review?plan={review_world.plan}")
    expect(desk.page.locator(".flash-success")).to_contain_text("已采用候选地点")
    desk.page.screenshot(path=str(shots / "review-accepted.png"), full_page=True)
    with engine.connect() as conn:
        status, layer = conn.execute(
            text(
                "SELECT p.location_status, l.layer FROM projects p JOIN project_locations l ON l.project_id = p.id"
                " WHERE p.id = :id"
            ),
            {"id": pid},
        ).one()
    assert (status, layer) == ("manual", "roads")
    assert desk.aborted == [] and desk.csp == []

    sign_in(phone, live_server, review_world.editor, next_path="/review")
    assert phone.horizontal_overflow() <= 0
    phone.page.screenshot(path=str(shots / "review-queue-phone.png"), full_page=True)
    phone.page.goto(f"{live_server}/review/{review_world.ids['script']}")
    _until(phone, "!!(window.REVIEW && REVIEW.loaded)")
    expect(phone.page.locator(".review-text")).to_contain_text("<script>alert(1)</script>")
    assert phone.horizontal_overflow() <= 0  # nothing wider than the phone
    phone.page.screenshot(path=str(shots / "review-task-phone.png"), full_page=True)
    assert phone.aborted == [] and phone.csp == []
