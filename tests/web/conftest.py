"""Fixtures of the web tests: users with passwords, and a browser-like client of its own per test.

The suite's session-wide ``client`` must never hold a session cookie (every other test expects to be
anonymous unless it sends a token), so each test here gets a fresh ``TestClient`` with its own cookie jar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

PASSWORD = "长株潭-两型-2018"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass(frozen=True)
class WebUser:
    name: str
    role: str
    password: str


def make_user(name: str, role: str, password: str = PASSWORD) -> WebUser:
    from service.accounts.usecases import set_password
    from service.database import session_scope
    from service.security import create_user

    with session_scope() as session:
        create_user(session, name, role)
        session.commit()
    with session_scope() as session:
        assert set_password(session, "test", name, password, min_length=10)
    return WebUser(name, role, password)


@pytest.fixture(scope="session")
def editor(engine: Engine) -> WebUser:
    return make_user("web-editor", "editor")


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    c = TestClient(app, follow_redirects=False)  # no lifespan: the app's start-up ran for the suite's client
    try:
        yield c
    finally:
        c.close()


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def sign_in(client: TestClient, user: WebUser, *, password: str | None = None, next: str = "") -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/login",
        data={
            "username": user.name,
            "password": user.password if password is None else password,
            "next": next,
            "csrf_token": csrf_of(page.text),
        },
    )


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(f"{name}=")]


def signed_in(app: FastAPI, user: WebUser) -> TestClient:
    """A browser-like client (cookies, no redirects followed) signed in through the login form as ``user``."""
    c = TestClient(app, follow_redirects=False)  # no lifespan: the app's start-up ran for the suite's client
    response = sign_in(c, user)
    assert response.status_code == 303, response.text
    return c


def signed_in_browser(app: FastAPI, user: WebUser) -> Iterator[TestClient]:
    """:func:`signed_in` for a fixture: ``yield from signed_in_browser(app, user)`` closes it afterwards."""
    c = signed_in(app, user)
    try:
        yield c
    finally:
        c.close()
