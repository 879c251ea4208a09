"""A small Zhuzhou plan for the task pages: a road task of 石峰区 (hostile text), an area task of 石峰区, a road
task of 芦淞区 only; an editor of 石峰区人民政府, a viewer and a coordinator who sign in with passwords; real
JPEG, PNG, WebP and PDF files made here.

Committed (the app reads on its own connections) and removed again afterwards.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from tests.progress.world import box, geojson, post_reports, wgs
from tests.web.conftest import WebUser, csrf_of, make_user
from tests.web.conftest import signed_in as browser_for

TAG = f"k{os.getpid()}"
HOSTILE = "<script>alert(1)</script>清雨路改造"
ROAD = LineString([(0, 0), (2000, 0)])  # metres from the world's origin (tests/progress/world.py)
AREA = box(0, 1000, 1000, 2000)
# key: (number, title, task text, lead units, responsible units, geometry in metres, location status)
TASKS = {
    "road": ("3", "清雨路改造", HOSTILE, ["市住建局"], ["石峰区人民政府"], ROAD, "review"),
    "area": ("4", "霞湾片区治理", "完成霞湾片区治理", ["石峰区人民政府"], [], AREA, "manual"),
    "other": (
        "5",
        "芦淞路改造",
        "完成芦淞路改造",
        ["芦淞区人民政府"],
        [],
        LineString([(0, 3000), (1000, 3000)]),
        "auto",
    ),
}


@dataclass
class TaskWorld:
    plan: str
    ids: dict[str, int]
    editor: WebUser  # of 株洲市石峰区人民政府
    viewer: WebUser
    coordinator: WebUser


def done_part(x1: float = 1200) -> dict:
    """The first x1 metres of the road, as GeoJSON (EPSG:4326)."""
    return geojson(LineString([(0, 0), (x1, 0)]))


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[TaskWorld]:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.units import usecases as units

    plan = f"{TAG}-plan"
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plans (id, title, year, city, published)"
                " VALUES (:id, :title, 2018, '株洲市', '2018-03-31')"
            ),
            {"id": plan, "title": f"任务页测试计划{TAG}"},
        )
        for key, (number, title, task_text, leads, resp, geom, status) in TASKS.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, section, number, title, task_text, lead_units,"
                    " responsible_units, category, deadline, deadline_text, year, geom, precision, location_status)"
                    " VALUES (:key, :plan, '一、基础设施', :number, :title, :task_text, :leads, :resp, '基础设施',"
                    " '2018-12-31', '2018年底前', 2018, ST_GeomFromText(:wkt, 4326), 5, :status) RETURNING id"
                ),
                {
                    "key": f"{plan}/{key}",
                    "plan": plan,
                    "number": number,
                    "title": title,
                    "task_text": task_text,
                    "leads": leads,
                    "resp": resp,
                    "wkt": wgs(geom).wkt,
                    "status": status,
                },
            ).scalar_one()
    post_reports(client, auth, ids["road"], [{"period": "2018-03", "status": "推进中", "percent": 20, "note": HOSTILE}])
    editor = make_user(f"{TAG}-shifeng", "editor")
    viewer = make_user(f"{TAG}-viewer", "viewer")
    coordinator = make_user(f"{TAG}-coord", "coordinator")
    with session_scope() as session:
        units.link_plan_projects(session, [plan])
        units.assign_user(session, "test", editor.name, units.find_unit_id(session, "株洲市石峰区人民政府"))
    try:
        yield TaskWorld(plan, ids, editor, viewer, coordinator)
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": plan})
            conn.execute(text("DELETE FROM users WHERE name LIKE :p"), {"p": f"{TAG}-%"})


@pytest.fixture
def editor_browser(app: FastAPI, world: TaskWorld) -> Iterator[TestClient]:
    c = browser_for(app, world.editor)
    yield c
    c.close()


@pytest.fixture
def viewer_browser(app: FastAPI, world: TaskWorld) -> Iterator[TestClient]:
    c = browser_for(app, world.viewer)
    yield c
    c.close()


@pytest.fixture
def coordinator_browser(app: FastAPI, world: TaskWorld) -> Iterator[TestClient]:
    c = browser_for(app, world.coordinator)
    yield c
    c.close()


def jpeg(width: int = 32, height: int = 24) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def webp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 20)).save(out, "WEBP")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def form_token(client: TestClient, task_id: int) -> str:
    page = client.get(f"/tasks/{task_id}/report")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def post_report(
    client: TestClient,
    task_id: int,
    fields: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
):  # type: ignore[no-untyped-def]
    data = {"csrf_token": form_token(client, task_id), **fields}
    return client.post(f"/tasks/{task_id}/report", data=data, files=files or [])
