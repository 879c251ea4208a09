"""The page kit and /docs: offline assets, private reads, escaping, error pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.assets import VENDOR_DIR
from service.settings import Settings
from tests.web.conftest import BROWSER_ACCEPT, WebUser, make_user, sign_in


def test_docs_use_the_local_swagger_ui(browser: TestClient) -> None:
    page = browser.get("/docs")
    assert page.status_code == 200
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert f"/static/vendor/swagger-ui-dist/{asset}" in page.text
        assert (VENDOR_DIR / "swagger-ui-dist" / asset).is_file()
        assert browser.get(f"/static/vendor/swagger-ui-dist/{asset}").status_code == 200
    assert "https://" not in page.text.replace("https://swagger.io", "")  # nothing fetched from elsewhere
    assert browser.get("/static/vendor/htmx/htmx.min.js").status_code == 200
    assert "/docs" not in browser.get("/openapi.json").json()["paths"]  # pages are not API operations


def test_with_private_reads_the_sign_in_page_opens_and_the_cookie_reads(engine: Any) -> None:
    from service.app import create_app

    private = create_app(Settings(private_reads=True))
    user = make_user("web-private-reader", "viewer")
    browser = TestClient(private, follow_redirects=False)
    assert browser.get("/collections").status_code == 401  # programs: problem+json as before
    sent = browser.get("/collections", headers={"Accept": BROWSER_ACCEPT})
    assert sent.status_code == 303 and sent.headers["location"] == "/login?next=/collections"  # people: sign in
    assert browser.get("/login").status_code == 200 and browser.get("/docs").status_code == 200
    assert sign_in(browser, user, next="/collections").headers["location"] == "/collections"
    assert browser.get("/collections").status_code == 200  # the session is a reader like a token


def test_names_are_escaped_and_the_unit_is_tolerated(app: Any) -> None:
    user = make_user('<script>alert("x")</script>', "viewer")
    browser = TestClient(app, follow_redirects=False)
    sign_in(browser, user)
    me = browser.get("/me")
    assert "<script>alert" not in me.text and "&lt;script&gt;alert" in me.text
    assert "未设置" in me.text  # no unit yet: shown as not set, not an error


def test_nav_shows_pages_that_exist_and_greys_the_rest(browser: TestClient, editor: WebUser) -> None:
    sign_in(browser, editor)
    page = browser.get("/me").text
    assert 'href="/maps/progress"' in page and 'href="/collections"' in page
    assert 'href="/ledger"' in page and 'class="nav-soon"' not in page  # 台账 is live since the ledger pages


def test_403_for_a_browser_is_a_chinese_page(browser: TestClient, auth: dict[str, dict[str, str]]) -> None:
    page = browser.get("/audit", headers={**auth["viewer"], "Accept": BROWSER_ACCEPT})
    assert page.status_code == 403 and "没有权限" in page.text
    assert page.headers["cache-control"] == "no-store"
    api = browser.get("/audit", headers=auth["viewer"])
    assert api.status_code == 403 and api.headers["content-type"] == "application/problem+json"


def test_a_signed_in_browser_keeps_its_top_bar_on_a_404(browser: TestClient, editor: WebUser) -> None:
    sign_in(browser, editor)
    page = browser.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and "web-editor" in page.text and "退出" in page.text
