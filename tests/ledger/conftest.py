"""A small Zhuzhou plan for the ledger: four tasks in two sections, one hostile title, reports in March 2018,
milestones for t3 and t10,
a district holding one task, an editor of 石峰区人民政府 and a coordinator who sign in with passwords.

Committed (the app reads on its own connections) and removed again afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import Engine, text

from tests.progress.world import box, post_reports, wgs
from tests.web.conftest import WebUser, make_user
from tests.web.conftest import signed_in_browser as _browser

TAG = f"l{os.getpid()}"
HOSTILE = "<script>alert(1)</script>清水塘整治"
FORMULA = '=HYPERLINK("http://x","y")'

# key: (section, number, title, lead units, responsible units, category, deadline, in the district),
# inserted in this order (the document's); the plan's order is t1, t2, t3, t10
TASKS = {
    "t2": ("一、改革", "2", "推进价格改革", ["市发改委"], [], "改革", "2018-12-31", False),
    "t1": ("一、改革", "1", "完成湘江治理", ["市环保局"], ["芦淞区人民政府"], "改革", None, False),
    "t10": ("二、生态", "10", HOSTILE, ["市住建局"], ["石峰区人民政府"], "生态", "2018-06-30", True),
    "t3": ("二、生态", "3", FORMULA, ["市国土资源局"], [], "生态", None, False),
}
PLAN_ORDER = ["t1", "t2", "t3", "t10"]


@dataclass
class LedgerWorld:
    plan: str
    district: str
    ids: dict[str, int]
    editor: WebUser  # of 株洲市石峰区人民政府
    coordinator: WebUser
    units: dict[str, int]

    def key_of(self, project_id: int) -> str:
        return next(k for k, v in self.ids.items() if v == project_id)


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[LedgerWorld]:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.units import usecases as units

    plan, district = f"{TAG}-plan", f"台账测试区{TAG}"
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plans (id, title, year, city, published)"
                " VALUES (:id, :title, 2018, '株洲市', '2018-03-31')"
            ),
            {"id": plan, "title": f"台账测试计划{TAG}"},
        )
        conn.execute(
            text(
                "INSERT INTO districts (key, name, source, adcode, city, geom)"
                " VALUES (:key, :name, 'test', :adcode, '株洲市', ST_GeomFromText(:wkt, 4326))"
            ),
            {
                "key": f"test-{TAG}",
                "name": district,
                "adcode": f"L{TAG}",
                "wkt": wgs(MultiPolygon([box(0, 0, 5000, 5000)])).wkt,
            },
        )
        for key, (section, number, title, leads, resp, category, deadline, located) in TASKS.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, section, number, title, task_text, lead_units,"
                    " responsible_units, category, deadline, year, geom, precision, location_status)"
                    " VALUES (:key, :plan, :section, :number, :title, :title, :leads, :resp, :category, :deadline,"
                    " 2018, ST_GeomFromText(:wkt, 4326), :precision, 'manual') RETURNING id"
                ),
                {
                    "key": f"{plan}/{key}",
                    "plan": plan,
                    "section": section,
                    "number": number,
                    "title": title,
                    "leads": leads,
                    "resp": resp,
                    "category": category,
                    "deadline": deadline,
                    "wkt": wgs(Point(1000, 1000)).wkt if located else None,
                    "precision": 1 if located else None,
                },
            ).scalar_one()
    post_reports(
        client, auth, ids["t1"], [{"period": "2018-03", "status": "推进中", "percent": 50, "note": "已完成清淤"}]
    )
    post_reports(client, auth, ids["t2"], [{"period": "2018-03", "status": "已完成", "percent": 100}])
    post_reports(client, auth, ids["t10"], [{"period": "2018-03", "status": "推进中", "percent": 10, "note": HOSTILE}])
    # milestones (decision 0270): t10 half done by 15 March (10 % in March: 已开工进展缓慢), t3 started by the end
    # of February (no report: 应开工未开工 in March)
    for key, milestone in {
        "t10": {"name": "完成过半", "due": "2018-03-15", "planned_percent": 50},
        "t3": {"name": "开工", "due": "2018-02-28", "planned_percent": 0, "starts_work": True},
    }.items():
        r = client.put(
            f"/projects/{ids[key]}/milestones", json={"milestones": [milestone]}, headers=auth["coordinator"]
        )
        assert r.status_code == 200, r.text
    editor = make_user(f"{TAG}-shifeng", "editor")
    coordinator = make_user(f"{TAG}-coord", "coordinator")
    with session_scope() as session:
        units.link_plan_projects(session, [plan])
        unit_ids = {
            "shifeng": units.find_unit_id(session, "株洲市石峰区人民政府"),
            "luosong": units.find_unit_id(session, "株洲市芦淞区人民政府"),
        }
        units.assign_user(session, "test", editor.name, unit_ids["shifeng"])
    try:
        yield LedgerWorld(plan, district, ids, editor, coordinator, unit_ids)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": plan})
            conn.execute(text("DELETE FROM districts WHERE name = :n"), {"n": district})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


@pytest.fixture
def coordinator_browser(app: FastAPI, world: LedgerWorld) -> Iterator[TestClient]:
    yield from _browser(app, world.coordinator)


@pytest.fixture
def editor_browser(app: FastAPI, world: LedgerWorld) -> Iterator[TestClient]:
    yield from _browser(app, world.editor)
