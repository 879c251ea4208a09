"""The issue's case flow in a real Chromium, offline (every request to another host aborted): an inspector
files a finding from the phone form with a photo, using the phone's position (geolocation granted, a fixed
point inside the Green Heart core); it is screened (the verdict shown) and assigned; the responsible unit's
editor submits a rectification with evidence; a second inspector rejects it once, then closes it (销号).
Screenshots (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs): the phone form, the case page at
1280 px and 390 px."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.playwright_kit import Offline, sign_in
from tests.case_pages.conftest import CaseWorld, case_world, jpeg  # noqa: F401  (fixture)
from tests.web.conftest import WebUser

expect = pytest.importorskip("playwright.sync_api").expect


class Located(Offline):
    """An offline page whose browser reports a fixed position (geolocation permission granted)."""

    def __init__(self, browser: object, width: int, height: int, lon: float, lat: float) -> None:
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height},
            locale="zh-CN",
            geolocation={"longitude": lon, "latitude": lat, "accuracy": 15},
            permissions=["geolocation"],
            is_mobile=width < 500,
            has_touch=width < 500,
        )
        self.page = self.context.new_page()
        self.aborted: list[str] = []
        self.csp: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)


@pytest.fixture
def views(chromium: object, case_world: CaseWorld) -> Iterator[dict[str, Located]]:  # noqa: F811
    lon, lat = case_world.point
    made = {
        "phone": Located(chromium, 390, 844, lon, lat),
        "editor": Located(chromium, 1280, 900, lon, lat),
        "second": Located(chromium, 1280, 900, lon, lat),
    }
    yield made
    for view in made.values():
        view.close()


def _until(view: Offline, script: str, timeout_s: float = 15) -> None:
    """Poll a page expression (the strict CSP forbids the string evaluation wait_for_function uses)."""
    deadline = time.monotonic() + timeout_s
    while not view.page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.1)


def _open(view: Offline, live_server: str, user: WebUser, path: str) -> None:
    sign_in(view, live_server, user, next_path=path)
    _until(view, "!!(window.XC && XC.state.loaded)")


def _step(view: Offline, action: str, label: str, note: str = "", files: list[dict[str, object]] | None = None) -> None:
    form = view.page.locator(f"#step-{action}")
    if note:
        form.locator("textarea[name=note]").fill(note)
    if files:
        form.locator("input[name=files]").set_input_files(files)
    form.get_by_role("button", name=label).click()
    view.page.wait_for_url("**#timeline")
    _until(view, "!!(window.XC && XC.state.loaded)")


def test_a_finding_from_the_phone_to_closed(
    views: dict[str, Located],
    live_server: str,
    case_world: CaseWorld,  # noqa: F811
    shots: Path,
) -> None:
    phone = views["phone"]
    _open(phone, live_server, case_world.inspector, "/cases/new")
    _until(phone, "!!XC.state.drawReady")
    assert phone.page.locator("input[name=kind][value=巡查发现]").is_checked()
    phone.page.get_by_role("button", name="使用当前位置").click()
    expect(phone.page.locator("#gps-status")).to_contain_text("精度约 15 米")
    assert phone.page.locator("#f-position_source").input_value() == "gps"
    phone.page.get_by_label("标题").fill("绿心核心区内新建厂房")
    phone.page.get_by_label("情况描述").fill("巡查发现正在浇筑地基，约 600 平方米")
    phone.page.locator("label.segment", has_text="严重").click()
    phone.page.get_by_label("现场照片").set_input_files(
        [{"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    phone.page.get_by_label("责任单位").select_option(str(case_world.unit))
    phone.page.get_by_label("整改要求").fill("立即停工，拆除违建，恢复植被")
    phone.page.get_by_label("整改期限").fill((date.today() + timedelta(days=20)).isoformat())
    phone.page.screenshot(path=str(shots / "patrol-form-phone.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    phone.page.get_by_role("button", name="登记", exact=True).click()
    phone.page.wait_for_url(f"{live_server}/cases/*")
    _until(phone, "!!(window.XC && XC.state.loaded && XC.state.place)")
    case_path = phone.page.url.replace(live_server, "").split("#")[0]
    main = phone.page.locator("main")
    expect(main).to_contain_text("已登记")
    expect(main.locator(".case-head")).to_contain_text("禁止建设")  # screened: inside the core
    expect(main).to_contain_text("核心保护区")
    assert "现场照片.jpg" in main.inner_text()

    _step(phone, "assign", "交办", note="请于期限内整改到位")
    expect(main.locator(".badges")).to_contain_text("交办")

    editor = views["editor"]
    _open(editor, live_server, case_world.editor, case_path)
    assert editor.page.locator("#step-accept").count() == 0  # the unit does not verify its own work
    evidence = [{"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    _step(editor, "submit", "申请销号", note="已停工并拆除", files=evidence)
    expect(editor.page.locator(".badges")).to_contain_text("申请销号")

    second = views["second"]
    _open(second, live_server, case_world.second, case_path)
    _step(second, "reject", "核查不通过，退回整改", note="植被尚未恢复")
    expect(second.page.locator(".badges")).to_contain_text("整改中")

    editor.page.goto(f"{live_server}{case_path}")
    _until(editor, "!!(window.XC && XC.state.loaded)")
    _step(editor, "submit", "申请销号", note="已补种植被", files=evidence)

    second.page.goto(f"{live_server}{case_path}")
    _until(second, "!!(window.XC && XC.state.loaded && XC.state.place)")
    _step(second, "accept", "核查通过，销号", note="现场核查属实")
    badges = second.page.locator(".badges")
    expect(badges).to_contain_text("销号")
    timeline = second.page.locator("#timeline").inner_text()
    for text in ("登记", "交办", "申请销号", "核查不通过，退回整改", "植被尚未恢复", "核查通过，销号", "整改后.jpg"):
        assert text in timeline, text
    assert second.page.locator("#steps form").count() == 0  # closed: no step left
    _until(second, "XC.state.zones > 0")
    second.page.screenshot(path=str(shots / "case-page.png"), full_page=True)

    phone.page.goto(f"{live_server}{case_path}")
    _until(phone, "!!(window.XC && XC.state.loaded && XC.state.place)")
    phone.page.screenshot(path=str(shots / "case-page-phone.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    for view in views.values():
        assert view.aborted == [] and view.csp == [], (view.aborted, view.csp)
