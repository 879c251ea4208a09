"""A small Zhuzhou plan and a plan without a city, linked to the bundled register; accounts in units.

Committed (the API reads them on its own connections) and removed again afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from service.database import session_scope
from service.security import create_user
from service.units import usecases

TAG = f"u{os.getpid()}"

# key: (lead units, responsible units), as a plan writes them
ZHUZHOU_TASKS = {
    "shifeng": (["市住建局"], ["石峰区人民政府"]),
    "districts": (["市发改委"], ["各县市区人民政府"]),
    "luosong": (["市环保局"], ["芦淞区人民政府"]),
    "land": (["市国土资源局"], []),
    "typo": (["市住建居"], []),
}


@dataclass
class Plans:
    zhuzhou: str
    nocity: str
    ids: dict[str, int]
    users: dict[str, str]  # unit (or "none") -> bearer token of an editor in it

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.users[who]}"}


def _insert(engine: Engine, plan: str, city: str | None, published: str, tasks: dict) -> dict[str, int]:
    ids = {}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year, city, published) VALUES (:id, :id, 2018, :city, :published)"),
            {"id": plan, "city": city, "published": published},
        )
        for key, (leads, responsible) in tasks.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, lead_units, responsible_units, year)"
                    " VALUES (:key, :plan, :title, :title, :leads, :resp, 2018) RETURNING id"
                ),
                {"key": f"{plan}/{key}", "plan": plan, "title": f"单位测试 {key}", "leads": leads, "resp": responsible},
            ).scalar_one()
    return ids


@pytest.fixture(scope="module")
def plans(engine: Engine, owner_engine: Engine) -> Iterator[Plans]:
    zhuzhou, nocity = f"{TAG}-zhuzhou", f"{TAG}-nocity"
    ids = _insert(engine, zhuzhou, "株洲市", "2018-03-31", ZHUZHOU_TASKS)
    ids |= {
        f"nocity-{k}": v
        for k, v in _insert(engine, nocity, None, "2019-05-01", {"dfg": (["市发改委"], ["省发改委"])}).items()
    }
    units = {
        "shifeng": "株洲市石峰区人民政府",
        "luosong": "株洲市芦淞区人民政府",
        "city": "株洲市人民政府",
        "ziran": "株洲市自然资源和规划局",
    }
    users: dict[str, str] = {}
    with session_scope() as session:
        usecases.link_plan_projects(session, [zhuzhou, nocity])
        for who in [*units, "none"]:
            users[who] = create_user(session, f"{TAG}-editor-{who}", "editor")
        users["coordinator"] = create_user(session, f"{TAG}-coordinator", "coordinator")
    with session_scope() as session:
        for who, unit in units.items():
            usecases.assign_user(session, "test", f"{TAG}-editor-{who}", unit)
    try:
        yield Plans(zhuzhou, nocity, ids, users)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id IN (:a, :b)"), {"a": zhuzhou, "b": nocity})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})
