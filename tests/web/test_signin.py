"""Browser sign-in over HTTP: the cookie's flags, rotation, sign-out, expiry, wrong passwords, next=."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.sessions import COOKIE, hash_session_id
from tests.web.conftest import BROWSER_ACCEPT, WebUser, csrf_of, set_cookie_headers, sign_in


def _session_rows(engine: Engine, raw: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM web_sessions WHERE id_hash = :h"), {"h": hash_session_id(raw)}
        ).scalar_one()


def test_login_page_is_chinese_uncached_and_strict(browser: TestClient) -> None:
    page = browser.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text_ in ("用户名", "密码", ">登录<", 'lang="zh-CN"', "/static/vendor/htmx/htmx.min.js"):
        assert text_ in page.text
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    (signin_cookie,) = set_cookie_headers(page, "xiangmap_signin_csrf")
    assert "HttpOnly" in signin_cookie and "SameSite=strict" in signin_cookie and "Path=/login" in signin_cookie
    assert csrf_of(page.text) in signin_cookie


def test_sign_in_sets_a_hardened_session_cookie_and_lands(browser: TestClient, editor: WebUser) -> None:
    answer = sign_in(browser, editor)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ledger"  # the ledger is the landing page once it exists
    (cookie,) = set_cookie_headers(answer, COOKIE)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie  # XIANGMAP_SESSION_MAX_HOURS=12
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    me = browser.get("/me")
    assert me.status_code == 200
    assert "web-editor" in me.text and "编辑" in me.text and "退出" in me.text and "登录有效至" in me.text
    assert me.headers["cache-control"] == "no-store"


def test_the_cookie_is_secure_over_https(app, editor: WebUser) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as tls:
        answer = sign_in(tls, editor)
        assert answer.status_code == 303
        (cookie,) = set_cookie_headers(answer, COOKIE)
        assert "Secure" in cookie and "HttpOnly" in cookie


def test_sign_in_never_keeps_the_id_the_browser_came_with(browser: TestClient, editor: WebUser, engine: Engine) -> None:
    browser.cookies.set(COOKIE, "planted-by-someone-else-0123456789")
    answer = sign_in(browser, editor)
    new = answer.cookies[COOKIE]
    assert new != "planted-by-someone-else-0123456789" and len(new) >= 43
    assert _session_rows(engine, new) == 1


def test_sign_in_again_rotates_and_ends_the_previous_session(app, editor: WebUser, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.web.usecases import sign_in as use_case

    with session_scope() as session:
        first = use_case(session, editor.name, editor.password, previous=None, idle_minutes=60, max_hours=1)
    assert first is not None and _session_rows(engine, first.cookie) == 1
    with session_scope() as session:
        second = use_case(session, editor.name, editor.password, previous=first.cookie, idle_minutes=60, max_hours=1)
    assert second is not None and second.cookie != first.cookie
    assert _session_rows(engine, first.cookie) == 0 and _session_rows(engine, second.cookie) == 1


def test_sign_out_deletes_the_session_and_the_cookie(browser: TestClient, editor: WebUser, engine: Engine) -> None:
    raw = sign_in(browser, editor).cookies[COOKIE]
    token = csrf_of(browser.get("/me").text)
    out = browser.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    (cleared,) = set_cookie_headers(out, COOKIE)
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared
    assert _session_rows(engine, raw) == 0
    assert "已退出登录" in browser.get("/login").text  # the flash message, shown once
    assert "已退出登录" not in browser.get("/login").text
    # the old cookie, replayed, signs nobody in
    replay = TestClient(browser.app, follow_redirects=False, cookies={COOKIE: raw})
    assert replay.get("/me").status_code == 303


def test_a_page_that_needs_a_user_sends_the_browser_to_login(browser: TestClient) -> None:
    answer = browser.get("/me?tab=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/me%3Ftab%3D1"


def test_an_ended_session_is_refused(browser: TestClient, editor: WebUser, engine: Engine) -> None:
    """Absolute expiry, then idle expiry: each moved into the past in the stored row."""
    for column in ("expires_at", "idle_expires_at"):
        raw = sign_in(browser, editor).cookies[COOKIE]
        assert browser.get("/me").status_code == 200
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE web_sessions SET {column} = now() - interval '1 second' WHERE id_hash = :h"),
                {"h": hash_session_id(raw)},
            )
        answer = browser.get("/me")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), column
        # an API call with the ended cookie is simply anonymous
        assert browser.get("/collections").status_code == 200
        browser.cookies.clear()
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM web_sessions WHERE expires_at <= now() OR idle_expires_at <= now()")
        ).scalar_one()
    assert left <= 1  # the next sign-in purged the first ended row


def test_idle_expiry_moves_with_use(browser: TestClient, editor: WebUser, engine: Engine) -> None:
    raw = sign_in(browser, editor).cookies[COOKIE]
    with engine.begin() as conn:  # last seen long ago, idle expiry in a minute: a request must push it back
        conn.execute(
            text(
                "UPDATE web_sessions SET last_seen_at = now() - interval '2 hours',"
                " idle_expires_at = now() + interval '1 minute' WHERE id_hash = :h"
            ),
            {"h": hash_session_id(raw)},
        )
    assert browser.get("/me").status_code == 200
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT extract(epoch FROM idle_expires_at - now()) FROM web_sessions WHERE id_hash = :h"),
            {"h": hash_session_id(raw)},
        ).scalar_one()
    assert left > 100 * 60  # XIANGMAP_SESSION_IDLE_MINUTES=120 from now


def test_wrong_password_and_unknown_user_get_the_same_answer(browser: TestClient, editor: WebUser) -> None:
    wrong = sign_in(browser, editor, password="not-the-password")
    unknown = sign_in(browser, WebUser("nobody-here", "editor", "whatever-it-is"))
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "用户名或密码不对" in answer.text
        assert set_cookie_headers(answer, COOKIE) == []
    assert 'value="web-editor"' in wrong.text  # the name is kept in the form, the password is not
    assert "not-the-password" not in wrong.text


def test_sign_in_form_without_its_token_is_refused(browser: TestClient, editor: WebUser) -> None:
    browser.get("/login")
    answer = browser.post("/login", data={"username": editor.name, "password": editor.password})
    assert answer.status_code == 403 and "表单已过期" in answer.text
    assert set_cookie_headers(answer, COOKIE) == []


def test_next_is_followed_only_to_local_paths(browser: TestClient, editor: WebUser) -> None:
    assert sign_in(browser, editor, next="/collections?f=html").headers["location"] == "/collections?f=html"
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/\tx"):
        browser.cookies.clear()
        answer = sign_in(browser, editor, next=hostile)
        assert answer.status_code == 303 and answer.headers["location"] == "/ledger", hostile


def test_signed_in_visit_to_login_goes_on(browser: TestClient, editor: WebUser) -> None:
    sign_in(browser, editor)
    again = browser.get("/login", params={"next": "/me"})
    assert again.status_code == 303 and again.headers["location"] == "/me"
    assert browser.get("/login", params={"next": "//evil.example"}).headers["location"] == "/ledger"


def test_html_errors_for_people_problem_json_for_programs(browser: TestClient) -> None:
    page = browser.get("/no-such-page", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and "页面不存在" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = browser.get("/no-such-page")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
