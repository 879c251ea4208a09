"""Passwords: scrypt with a salt of their own, never stored as typed; the CLI sets them, audited; limits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app as cli
from service.passwords import PasswordError, check_new_password, hash_password, needs_rehash, verify_password
from service.settings import Settings
from tests.web.conftest import PASSWORD, WebUser, csrf_of, make_user, sign_in

runner = CliRunner()


def _stored(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT password_hash FROM users WHERE name = :n"), {"n": name}).scalar_one()


def test_the_stored_hash_is_salted_scrypt_and_verifies(editor: WebUser, engine: Engine) -> None:
    stored = _stored(engine, editor.name)
    assert stored.startswith("scrypt$n=32768,r=8,p=1$")
    assert PASSWORD not in stored and PASSWORD.encode().hex() not in stored
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "x", stored)
    assert not needs_rehash(stored)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # a salt per hash: equal passwords, unequal rows


def test_weaker_stored_parameters_are_noticed_and_still_verify() -> None:
    from service.passwords import ScryptParams

    old = hash_password("an older password", ScryptParams(n=2**12))
    assert verify_password("an older password", old) and needs_rehash(old)
    assert not verify_password("x", "md5$whatever") and not verify_password("x", None)


@pytest.mark.parametrize("weak", ["short", " " * 12, "x" * 1025])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(PasswordError):
        check_new_password(weak, 10)


def test_cli_set_password_from_stdin_is_audited_without_the_hash(engine: Engine) -> None:
    assert runner.invoke(cli, ["users", "add", "cli-web-person", "--role", "viewer"]).exit_code == 0
    result = runner.invoke(
        cli, ["users", "set-password", "cli-web-person", "--password-stdin"], input="一个够长的密码-42\n"
    )
    assert result.exit_code == 0, result.output
    assert verify_password("一个够长的密码-42", _stored(engine, "cli-web-person"))
    with engine.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT actor, before, after FROM audit_log WHERE action = 'user.password'"
                " AND entity_id = 'cli-web-person' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert entry.actor == "cli" and entry.after["password_changed_at"]
    assert "scrypt" not in str(entry.before) + str(entry.after)
    too_short = runner.invoke(cli, ["users", "set-password", "cli-web-person", "--password-stdin"], input="short\n")
    assert too_short.exit_code == 2 and "至少" in too_short.output
    nobody = runner.invoke(
        cli, ["users", "set-password", "nobody-at-all", "--password-stdin"], input="long enough 123\n"
    )
    assert nobody.exit_code == 1


def test_cli_set_password_prompts_twice(engine: Engine) -> None:
    assert runner.invoke(cli, ["users", "add", "cli-web-typist", "--role", "viewer"]).exit_code == 0
    result = runner.invoke(cli, ["users", "set-password", "cli-web-typist"], input="typed twice 123\ntyped twice 123\n")
    assert result.exit_code == 0, result.output
    assert verify_password("typed twice 123", _stored(engine, "cli-web-typist"))


def test_cli_create_admin_makes_an_admin_who_can_sign_in(app: Any, engine: Engine) -> None:
    result = runner.invoke(
        cli, ["users", "create-admin", "first-admin", "--password-stdin"], input="管理员的长密码-2018\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("xm_")
    again = runner.invoke(
        cli, ["users", "create-admin", "first-admin", "--password-stdin"], input="管理员的长密码-2018\n"
    )
    assert again.exit_code == 2 and "set-password" in again.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT role FROM users WHERE name = 'first-admin'")).scalar_one() == "admin"
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'user.create_admin'")).scalar_one() >= 1
    with TestClient(app, follow_redirects=False) as browser:
        answer = sign_in(browser, WebUser("first-admin", "admin", "管理员的长密码-2018"))
        assert answer.status_code == 303
        assert "管理员" in browser.get("/me").text


def test_changing_ones_password_ends_the_other_sessions(app: Any, engine: Engine) -> None:
    user = make_user("web-changer", "viewer")
    phone = TestClient(app, follow_redirects=False)
    desk = TestClient(app, follow_redirects=False)
    sign_in(phone, user)
    sign_in(desk, user)
    token = csrf_of(desk.get("/me").text)
    form = {
        "csrf_token": token,
        "current_password": "wrong one",
        "new_password": "新的密码-2019-夏天",
        "new_password_again": "新的密码-2019-夏天",
    }
    refused = desk.post("/me/password", data=form)
    assert refused.status_code == 400 and "当前密码不对" in refused.text
    form["current_password"] = user.password
    assert desk.post("/me/password", data={**form, "new_password_again": "different"}).status_code == 400
    changed = desk.post("/me/password", data=form)
    assert changed.status_code == 303 and changed.headers["location"] == "/me"
    assert "密码已修改" in desk.get("/me").text  # this browser stays signed in
    assert phone.get("/me").status_code == 303  # the other one is signed out
    assert verify_password("新的密码-2019-夏天", _stored(engine, user.name))


def test_revoking_a_user_signs_them_out(app: Any) -> None:
    user = make_user("web-revoked", "viewer")
    browser = TestClient(app, follow_redirects=False)
    sign_in(browser, user)
    assert browser.get("/me").status_code == 200
    assert runner.invoke(cli, ["users", "revoke", user.name]).exit_code == 0
    assert browser.get("/me").status_code == 303
    assert sign_in(TestClient(app, follow_redirects=False), user).status_code == 401


def test_failed_sign_ins_are_rate_limited_per_address_and_per_name(engine: Engine) -> None:
    from service.app import create_app

    with engine.begin() as conn:  # the counts are shared in PostgreSQL (decision 0320): start from none
        conn.execute(text("DELETE FROM rate_limit_counts"))
    limited = create_app(Settings(rate_limits_enabled=True, rate_limit_signin="3/minute", rate_limit_tarpit_s=0))
    user = make_user("web-limited", "viewer")
    browser = TestClient(limited, follow_redirects=False)
    for _ in range(3):
        assert sign_in(browser, user, password="guess-guess-guess").status_code == 401
    blocked = sign_in(browser, user)  # even the right password: the address is over its allowance
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text
    assert 1 <= int(blocked.headers["Retry-After"]) <= 120  # up to two windows (decision 0320)
    other_address = TestClient(limited, follow_redirects=False, client=("203.0.113.9", 50000))
    assert sign_in(other_address, user).status_code == 429  # the name is over its allowance too
    fresh = make_user("web-limited-other", "viewer")
    ok = TestClient(limited, follow_redirects=False, client=("203.0.113.10", 50000))
    assert sign_in(ok, fresh).status_code == 303  # a right password from elsewhere is never slowed
