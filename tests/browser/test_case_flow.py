"""The issue's case flow in a real Chromium, offline (every request to another host aborted): an inspector
opens the case list, follows 登记案件 and files a violation (违法违规) found 40 days ago from the phone form
with a photo, using the phone's position (geolocation granted, a fixed point inside the Green Heart core),
its rectification deadline 10 days ago; it is screened (the verdict shown) and assigned; the responsible
unit's editor submits a rectification with evidence; a second inspector rejects it once; while it is open
and overdue the supervisor's notice lists it under its unit (and its PDF and Excel carry it), then the
second inspector closes it (销号) and the notice no longer lists it.  The figures (the city's violations
per 100 km² of Green Heart, the unit's open / closed counts) are read before, during and after.
Screenshots (``XIANGMAP_SCREENSHOTS``; docs/screenshots/ for the docs): the phone form, the case page at
1280 px and 390 px, the notice (case-flow-notice.png, notice-phone.png) and the figures (case-flow-figures.png,
case-figures-phone.png) at 1280 px and 390 px."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from service.case_reports.filters import today as office_today
from tests.browser.playwright_kit import Offline, sign_in
from tests.case_pages.conftest import CaseWorld, case_world, jpeg  # noqa: F401  (fixture)
from tests.web.conftest import WebUser

expect = pytest.importorskip("playwright.sync_api").expect
UNIT_NAME = "株洲市石峰区人民政府"  # case_world.unit (tests/case_pages/conftest.py)
# the office's day (Beijing), as the notices count overdue days: after 16:00 UTC it is already tomorrow there
FOUND = office_today() - timedelta(days=40)
DEADLINE = office_today() - timedelta(days=10)  # after the finding, before today: overdue from the start


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


def _figures(view: Offline, live_server: str) -> dict[str, object]:
    """/cases/figures.json with the view's own session, for the year the case was found."""
    answer = view.page.request.get(f"{live_server}/cases/figures.json?year={FOUND.year}")
    assert answer.status == 200, answer.text()
    return answer.json()  # type: ignore[no-any-return]


def _violations(figures: dict[str, object], grain: str, period: str) -> dict[str, tuple[int, float | None]]:
    """{city: (violations, per 100 km²)} of one period of the 违法违规行为发生率 table."""
    rows = figures["violations"][grain]  # type: ignore[index]
    row = next(r for r in rows if r["period"] == period)
    return {c["city"]: (c["violations"], c["per_100km2"]) for c in row["cities"]}


def _unit_counts(view: Offline, live_server: str) -> dict[str, int]:
    """The responsible unit's row of the figures page's 各责任单位案件 table, as shown (zeros when absent)."""
    view.page.goto(f"{live_server}/cases/figures?year={FOUND.year}")
    table = view.page.get_by_role("table", name="各责任单位案件")
    rows = table.locator("tbody tr").evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")
    row = next((r for r in rows if r[0] == UNIT_NAME), None)
    names = ("open", "overdue", "closed", "withdrawn")
    return dict(zip(names, (int(n) for n in row[1:5]), strict=True)) if row else dict.fromkeys(names, 0)


def _notice_lines(view: Offline, live_server: str) -> dict[str, list[str]]:
    """Today's notice as shown: {case number: its cells} of the responsible unit's section."""
    view.page.goto(f"{live_server}/cases/notices")
    section = view.page.locator("section.cr-unit", has=view.page.get_by_role("heading", name=UNIT_NAME))
    if section.count() == 0:
        return {}
    rows = section.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return {r[0]: r for r in rows}


def test_a_finding_from_the_phone_to_closed(
    views: dict[str, Located],
    live_server: str,
    case_world: CaseWorld,  # noqa: F811
    shots: Path,
) -> None:
    second = views["second"]  # the second inspector is also the supervisor reading the notice and the figures
    sign_in(second, live_server, case_world.second, next_path="/cases/figures")
    month, year = f"{FOUND:%Y-%m}", f"{FOUND:%Y}"
    before = _figures(second, live_server)
    units_before = _unit_counts(second, live_server)

    phone = views["phone"]
    sign_in(phone, live_server, case_world.inspector, next_path="/cases")
    phone.page.get_by_role("link", name="登记案件").click()
    phone.page.wait_for_url(f"{live_server}/cases/new")
    _until(phone, "!!(window.XC && XC.state.loaded)")
    _until(phone, "!!XC.state.drawReady")
    assert phone.page.locator("input[name=kind][value=巡查发现]").is_checked()
    phone.page.locator("label.segment", has_text="违法违规").click()
    assert phone.page.locator("input[name=kind][value=违法违规]").is_checked()
    phone.page.get_by_role("button", name="使用当前位置").click()
    expect(phone.page.locator("#gps-status")).to_contain_text("精度约 15 米")
    assert phone.page.locator("#f-position_source").input_value() == "gps"
    phone.page.get_by_label("标题").fill("绿心核心区内新建厂房")
    phone.page.get_by_label("情况描述").fill("巡查发现正在浇筑地基，约 600 平方米")
    phone.page.locator("label.segment", has_text="较重").click()  # not 严重: the notice lists it for being overdue
    phone.page.get_by_label("发现日期").fill(FOUND.isoformat())
    phone.page.get_by_label("现场照片").set_input_files(
        [{"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    phone.page.get_by_label("责任单位").select_option(str(case_world.unit))
    phone.page.get_by_label("整改要求").fill("立即停工，拆除违建，恢复植被")
    phone.page.get_by_label("整改期限").fill(DEADLINE.isoformat())
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
    expect(main.locator(".badges")).to_contain_text("已逾期")  # its deadline has passed
    expect(main.locator(".facts").first).to_contain_text(FOUND.isoformat())
    assert "现场照片.jpg" in main.inner_text()
    number = main.locator(".case-no").inner_text().strip()

    _step(phone, "assign", "交办", note="请于期限内整改到位")
    expect(main.locator(".badges")).to_contain_text("交办")

    editor = views["editor"]
    _open(editor, live_server, case_world.editor, case_path)
    assert editor.page.locator("#step-accept").count() == 0  # the unit does not verify its own work
    evidence = [{"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    _step(editor, "submit", "申请销号", note="已停工并拆除", files=evidence)
    expect(editor.page.locator(".badges")).to_contain_text("申请销号")

    second.page.goto(f"{live_server}{case_path}")
    _until(second, "!!(window.XC && XC.state.loaded)")
    _step(second, "reject", "核查不通过，退回整改", note="植被尚未恢复")
    expect(second.page.locator(".badges")).to_contain_text("整改中")

    editor.page.goto(f"{live_server}{case_path}")
    _until(editor, "!!(window.XC && XC.state.loaded)")
    _step(editor, "submit", "申请销号", note="已补种植被", files=evidence)

    # open and overdue: the notice lists it under its unit, 10 days overdue; its PDF and Excel carry it
    line = _notice_lines(second, live_server)[number]
    assert line[1] == "绿心核心区内新建厂房" and line[2] == "违法违规"
    assert line[4:7] == [FOUND.isoformat(), DEADLINE.isoformat(), "10"] and line[-1] == "申请销号", line
    second.page.screenshot(path=str(shots / "case-flow-notice.png"), full_page=True)
    exports = second.page.locator(".exports a")
    for link in exports.all():
        answer = second.page.request.get(f"{live_server}{link.get_attribute('href')}")
        assert answer.status == 200, (link.inner_text(), answer.status)
        body = answer.body()
        if link.inner_text() == "Excel":
            with zipfile.ZipFile(io.BytesIO(body)) as book:
                assert number in book.read("xl/sharedStrings.xml").decode("utf-8")
        else:
            assert body.startswith(b"%PDF")
            if shutil.which("pdftotext"):
                words = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True).stdout
                assert number in words.decode("utf-8")
    assert exports.count() == 2
    during = _figures(second, live_server)
    units_during = _unit_counts(second, live_server)
    assert units_during["open"] == units_before["open"] + 1
    assert units_during["overdue"] == units_before["overdue"] + 1
    assert units_during["closed"] == units_before["closed"]

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

    # closed: off the notice; the unit's open count back, its closed one up; the violation still counts
    assert number not in _notice_lines(second, live_server)
    units_after = _unit_counts(second, live_server)
    assert units_after["open"] == units_before["open"]
    assert units_after["overdue"] == units_before["overdue"]
    assert units_after["closed"] == units_before["closed"] + 1
    second.page.screenshot(path=str(shots / "case-flow-figures.png"), full_page=True)
    after = _figures(second, live_server)
    for grain, period in (("by_month", month), ("by_year", year)):
        was, mid, now = (_violations(f, grain, period) for f in (before, during, after))
        assert mid == now, (grain, mid, now)  # closing a violation does not take it off the rate
        moved = {city for city in was if now[city] != was[city]}
        assert len(moved) == 1, (grain, was, now)  # one city, the one the place lies in
        (city,) = moved
        assert now[city][0] == was[city][0] + 1
        assert now[city][1] is not None and now[city][1] > (was[city][1] or 0), (city, was[city], now[city])

    phone.page.goto(f"{live_server}{case_path}")
    _until(phone, "!!(window.XC && XC.state.loaded && XC.state.place)")
    phone.page.screenshot(path=str(shots / "case-page-phone.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    for path, shot in (("/cases/notices", "notice-phone.png"), ("/cases/figures", "case-figures-phone.png")):
        phone.page.goto(f"{live_server}{path}")
        expect(phone.page.get_by_role("link", name="← 案件列表")).to_be_visible()
        phone.page.screenshot(path=str(shots / shot), full_page=True)
        assert phone.horizontal_overflow() <= 0, path
    for view in views.values():
        assert view.aborted == [] and view.csp == [], (view.aborted, view.csp)
