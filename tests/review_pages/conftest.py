"""A small plan for the review pages: four Zhuzhou tasks in review, each with a stored match on a real road of
the bundled layers (one text hostile), and an editor and a viewer who sign in with passwords.

Committed (the app reads on its own connections) and removed again afterwards; the browser test uses it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import WebUser, make_user

TAG = f"rv{os.getpid()}"


@dataclass
class ReviewWorld:
    plan: str
    ids: dict[str, int]
    road: dict[str, str]  # key, name of the road every text names
    editor: WebUser
    viewer: WebUser


def _texts(road: str) -> dict[str, tuple[str, str]]:
    return {
        "script": ("清雨路改造", f"<script>alert(1)</script>推进{road}提质改造 & 周边<b>整治</b>"),
        "accept": ("道路提质", f"完成{road}提质改造"),
        "draw": ("片区整治", f"推进{road}沿线片区整治"),
        "none": ("绿色信贷", f"建立绿色信贷评估办法，{road}试点"),
    }


def build_world(engine: Engine) -> tuple[str, dict[str, int], dict[str, str]]:
    plan = f"{TAG}-plan"
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        row = conn.execute(text("SELECT key, name FROM roads WHERE char_length(name) >= 3 ORDER BY id LIMIT 1")).one()
        road = {"key": row.key, "name": row.name}
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:id, :title, 2031, '株洲市')"),
            {"id": plan, "title": f"复核测试计划{TAG}"},
        )
        for n, (key, (title, task_text)) in enumerate(_texts(road["name"]).items(), start=1):
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, section, number, title, task_text, lead_units, category,"
                    " year, precision, location_status)"
                    " VALUES (:key, :plan, '一、', :number, :title, :text, ARRAY['市住建局'], '基础设施', 2031, 1,"
                    " 'review') RETURNING id"
                ),
                {"key": f"{plan}/{key}", "plan": plan, "number": str(n), "title": title, "text": task_text},
            ).scalar_one()
            start = task_text.index(road["name"])
            conn.execute(
                text(
                    "INSERT INTO project_locations (project_id, layer, feature_key, name, precision, exactness,"
                    " location_class, method, confidence, span_start, span_end, matched_text)"
                    " VALUES (:pid, 'roads', :fkey, :name, 1, 1, 3, 'gazetteer', 0.6, :s, :e, :name)"
                ),
                {
                    "pid": ids[key],
                    "fkey": road["key"],
                    "name": road["name"],
                    "s": start,
                    "e": start + len(road["name"]),
                },
            )
    return plan, ids, road


@pytest.fixture(scope="module")
def review_world(engine: Engine, owner_engine: Engine) -> Iterator[ReviewWorld]:
    plan, ids, road = build_world(engine)
    editor = make_user(f"{TAG}-editor", "editor")
    viewer = make_user(f"{TAG}-viewer", "viewer")
    try:
        yield ReviewWorld(plan, ids, road, editor, viewer)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": plan})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})
