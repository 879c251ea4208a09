"""Planners who sign in (a coordinator, an admin) and an editor who may not upload; the office sheets on disk;
plans the tests commit (ids ``pu<pid>-…``) removed afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.plan_uploads.office_sheet import write
from tests.web.conftest import WebUser, make_user, signed_in

TAG = f"pu{os.getpid()}"


@pytest.fixture(scope="module")
def planners(engine: Engine, owner_engine: Engine) -> Iterator[dict[str, WebUser]]:
    users = {role: make_user(f"{TAG}-{role}", role) for role in ("coordinator", "admin", "editor", "viewer")}
    try:
        yield users
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id LIKE :p"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM staged_uploads WHERE owner LIKE :p"), {"p": f"{TAG}-%"})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


@pytest.fixture
def coordinator(app: FastAPI, planners: dict[str, WebUser]) -> Iterator[TestClient]:
    client = signed_in(app, planners["coordinator"])
    yield client
    client.close()


@pytest.fixture
def editor(app: FastAPI, planners: dict[str, WebUser]) -> Iterator[TestClient]:
    client = signed_in(app, planners["editor"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("office-sheets")
    return {
        "clean": write(folder / "株洲市2018年重点任务分解表.xlsx"),
        "broken": write(folder / "broken.xlsx", broken=True),
        "edited": write(folder / "edited.xlsx", edited=True),
        "xls": write(folder / "plan.xls"),
    }
