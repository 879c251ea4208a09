"""The links between the case pages: the list offers 登记案件 to those who may register, 通报 and 统计 to those
who may read them; the notice and the figures link back to the list (and to each other).  Each role signs in
and reads the three pages; the roles the template names are checked against the ones the routes enforce."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.case_pages.routes import FILERS
from service.case_reports.scope import READER_ROLES
from tests.web.conftest import make_user, sign_in

TAG = f"lk{os.getpid()}"
ROLES = ("viewer", "editor", "inspector", "coordinator", "admin", "gis")
LINKS = re.compile(r'<nav class="case-links"[^>]*>(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture(scope="module")
def clients(app: FastAPI, engine: Engine, owner_engine: Engine) -> Iterator[dict[str, TestClient]]:
    made: dict[str, TestClient] = {}
    try:
        for role in ROLES:
            user = make_user(f"{TAG}-{role}", role)
            c = TestClient(app, follow_redirects=False)
            assert sign_in(c, user).status_code == 303
            made[role] = c
        yield made
    finally:
        for c in made.values():
            c.close()
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


def links(client: TestClient, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    found = LINKS.search(page.text)
    assert found, f"no case links on {path}"
    return HREF.findall(found.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_the_list_links_what_the_role_may_use(clients: dict[str, TestClient], role: str) -> None:
    expected = (["/cases/new"] if role in FILERS else []) + (
        ["/cases/notices", "/cases/figures"] if role in READER_ROLES else []
    )
    assert links(clients[role], "/cases") == expected
    for path in expected:  # every link offered answers that role
        assert clients[role].get(path).status_code == 200, path


@pytest.mark.parametrize("role", [r for r in ROLES if r in READER_ROLES])
def test_notices_and_figures_link_back_to_the_list(clients: dict[str, TestClient], role: str) -> None:
    assert links(clients[role], "/cases/notices") == ["/cases", "/cases/figures"]
    assert links(clients[role], "/cases/figures") == ["/cases", "/cases/notices"]


def test_a_viewer_is_offered_nothing_it_would_be_refused(clients: dict[str, TestClient]) -> None:
    viewer = clients["viewer"]
    assert "viewer" not in FILERS and "viewer" not in READER_ROLES
    assert links(viewer, "/cases") == []
    for path in ("/cases/new", "/cases/notices", "/cases/figures"):
        assert viewer.get(path).status_code == 403, path
