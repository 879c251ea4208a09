"""Browser sign-in in a real Chromium (Playwright driving Debian's /usr/bin/chromium; no browser download).

Every request to a host other than the loopback is aborted, so what works here works on an offline
intranet.  Screenshots go to ``XIANGMAP_SCREENSHOTS`` (default: the run's temporary folder) to be looked
at: the login page at desk and phone widths, /me on a phone, and /docs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text

from service.sessions import COOKIE, hash_session_id
from tests.web.conftest import WebUser, make_user

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("XIANGMAP_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Offline:
    """A page of its own browser context, with every non-loopback request aborted and CSP reports kept."""

    def __init__(self, browser: object, width: int, height: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.aborted: list[str] = []
        self.csp: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.aborted.append(url)
            route.abort()  # type: ignore[attr-defined]

    def _console(self, message: object) -> None:
        if "Content Security Policy" in message.text:  # type: ignore[attr-defined]
            self.csp.append(message.text)  # type: ignore[attr-defined]

    def horizontal_overflow(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desk(chromium: object) -> Iterator[Offline]:
    page = Offline(chromium, 1280, 800)
    yield page
    page.close()


@pytest.fixture
def phone(chromium: object) -> Iterator[Offline]:
    page = Offline(chromium, 375, 740)
    yield page
    page.close()


@pytest.fixture(scope="module")
def planner(engine: Engine) -> WebUser:
    return make_user("张规划", "editor", "株洲-两型-规划-2018")


def _sign_in(view: Offline, live_server: str, user: WebUser, next_path: str = "/me") -> None:
    view.page.goto(f"{live_server}/login?next={next_path}")
    view.page.get_by_label("用户名").fill(user.name)
    view.page.get_by_label("密码").fill(user.password)
    view.page.get_by_role("button", name="登录").click()
    view.page.wait_for_url(f"{live_server}{next_path}")


def test_sign_in_show_the_user_sign_out_and_be_sent_back(
    desk: Offline, live_server: str, planner: WebUser, shots: Path
) -> None:
    desk.page.goto(f"{live_server}/login")
    assert desk.page.get_by_role("heading", name="登录").is_visible()
    desk.page.screenshot(path=str(shots / "login-1280x800.png"), full_page=True)
    _sign_in(desk, live_server, planner)
    topbar = desk.page.locator("header.topbar")
    assert "张规划" in topbar.inner_text() and "编辑" in topbar.inner_text()
    assert desk.page.get_by_role("heading", name="我的账号").is_visible()
    assert desk.page.evaluate("typeof htmx") == "object"  # htmx loaded from /static/vendor, no inline script
    desk.page.get_by_role("button", name="退出").click()
    desk.page.wait_for_url(f"{live_server}/login")
    assert "已退出登录" in desk.page.locator("main").inner_text()
    desk.page.goto(f"{live_server}/me")
    assert desk.page.url == f"{live_server}/login?next=/me"
    assert desk.aborted == [] and desk.csp == []


def test_phone_width_login_and_me_fit_without_horizontal_scroll(
    phone: Offline, live_server: str, planner: WebUser, shots: Path
) -> None:
    phone.page.goto(f"{live_server}/login")
    phone.page.screenshot(path=str(shots / "login-375x740.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    _sign_in(phone, live_server, planner)
    phone.page.screenshot(path=str(shots / "me-375x740.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    assert phone.page.get_by_role("button", name="退出").is_visible()
    assert phone.aborted == [] and phone.csp == []


def test_a_form_posted_without_its_token_is_refused(desk: Offline, live_server: str, planner: WebUser) -> None:
    _sign_in(desk, live_server, planner)
    # a form as another site would send it: no csrf_token field (the browser still sends the cookie)
    desk.page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/logout';
                   document.body.appendChild(f); f.submit(); }"""
    )
    desk.page.wait_for_load_state()
    desk.page.wait_for_selector("text=表单已过期")
    assert "没有权限" in desk.page.locator("main").inner_text()
    desk.page.goto(f"{live_server}/me")
    assert desk.page.url == f"{live_server}/me"  # still signed in: the refused post did nothing


def test_an_expired_session_sends_the_browser_to_sign_in(
    desk: Offline, live_server: str, planner: WebUser, engine: Engine
) -> None:
    _sign_in(desk, live_server, planner)
    (cookie,) = [c for c in desk.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert desk.page.evaluate("document.cookie").find(COOKIE) == -1  # no script can read it
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = :h"),
            {"h": hash_session_id(cookie["value"])},
        )
    desk.page.reload()
    assert desk.page.url == f"{live_server}/login?next=/me"
    assert desk.page.get_by_label("用户名").is_visible()


def test_docs_render_offline(desk: Offline, live_server: str, shots: Path) -> None:
    desk.page.goto(f"{live_server}/docs")
    desk.page.wait_for_selector(".opblock-summary", timeout=30_000)
    operations = desk.page.locator(".opblock").count()
    assert operations >= 20, operations
    desk.page.screenshot(path=str(shots / "docs-1280x800.png"))
    assert "xiangmap" in desk.page.locator(".information-container").inner_text()
    assert desk.aborted == [], desk.aborted
    assert desk.csp == [], desk.csp


def test_htmx_sends_the_csrf_token_from_the_body(desk: Offline, live_server: str, planner: WebUser) -> None:
    """hx-headers on <body> is how every htmx request of every page carries the token."""
    _sign_in(desk, live_server, planner)
    status = desk.page.evaluate(
        """() => new Promise(done => {
             document.body.addEventListener('htmx:afterRequest', e => done(e.detail.xhr.status), {once: true});
             htmx.ajax('POST', '/logout', {source: document.body, swap: 'none'});
           })"""
    )
    assert status == 200  # the 303 to /login, followed: the POST was accepted, not refused with 403
    desk.page.goto(f"{live_server}/me")
    assert desk.page.url == f"{live_server}/login?next=/me"  # signed out by the htmx request
