"""Browser sign-in in a real Chromium (Playwright driving Debian's /usr/bin/chromium; no browser download).

Every request to a host other than the loopback is aborted, so what works here works on an offline
intranet.  Screenshots go to ``XIANGMAP_SCREENSHOTS`` (default: the run's temporary folder) to be looked
at: the login page at desk and phone widths, /me on a phone, and /docs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from service.sessions import COOKIE, hash_session_id
from tests.browser.playwright_kit import Offline, sign_in
from tests.web.conftest import WebUser, make_user

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def planner(engine: Engine) -> WebUser:
    return make_user("张规划", "editor", "株洲-两型-规划-2018")


def test_sign_in_show_the_user_sign_out_and_be_sent_back(
    desk: Offline, live_server: str, planner: WebUser, shots: Path
) -> None:
    desk.page.goto(f"{live_server}/login")
    assert desk.page.get_by_role("heading", name="登录").is_visible()
    desk.page.screenshot(path=str(shots / "login-1280x800.png"), full_page=True)
    sign_in(desk, live_server, planner)
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
    sign_in(phone, live_server, planner)
    phone.page.screenshot(path=str(shots / "me-375x740.png"), full_page=True)
    assert phone.horizontal_overflow() <= 0
    assert phone.page.get_by_role("button", name="退出").is_visible()
    assert phone.aborted == [] and phone.csp == []


def test_a_form_posted_without_its_token_is_refused(desk: Offline, live_server: str, planner: WebUser) -> None:
    sign_in(desk, live_server, planner)
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
    sign_in(desk, live_server, planner)
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
    sign_in(desk, live_server, planner)
    status = desk.page.evaluate(
        """() => new Promise(done => {
             document.body.addEventListener('htmx:afterRequest', e => done(e.detail.xhr.status), {once: true});
             htmx.ajax('POST', '/logout', {source: document.body, swap: 'none'});
           })"""
    )
    assert status == 200  # the 303 to /login, followed: the POST was accepted, not refused with 403
    desk.page.goto(f"{live_server}/me")
    assert desk.page.url == f"{live_server}/login?next=/me"  # signed out by the htmx request
