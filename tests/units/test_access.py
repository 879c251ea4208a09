"""Who sees and who may report on a task: the unit, the units under it, the unit it took over; coordinators all."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.database import session_scope
from service.units import usecases
from tests.units.conftest import Plans

REPORT = {"period": "2018-05", "status": "推进中", "percent": 20}


def _unit_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM units WHERE name = :n"), {"n": name}).scalar_one()


def test_shifeng_sees_its_responsible_tasks_directly_and_via_groups(engine: Engine, plans: Plans) -> None:
    shifeng = _unit_id(engine, "株洲市石峰区人民政府")
    with session_scope() as session:
        tasks = {t["id"]: t for t in usecases.tasks_for_unit(session, shifeng)}
    assert plans.ids["shifeng"] in tasks and plans.ids["districts"] in tasks
    assert plans.ids["luosong"] not in tasks
    assert tasks[plans.ids["districts"]]["via"] == ["各县市区人民政府"]
    assert tasks[plans.ids["shifeng"]]["roles"] == ["responsible"]
    # every bundled task naming 石峰区 or a Zhuzhou collective of districts as responsible is among them
    with engine.connect() as conn:
        expected = set(
            conn.execute(
                text(
                    "SELECT id FROM projects WHERE plan_id = 'zhuzhou-2018' AND responsible_units &&"
                    " ARRAY['石峰区人民政府', '各县市区人民政府', '各区人民政府']::text[]"
                )
            ).scalars()
        )
    assert expected and expected <= set(tasks)


def test_the_city_government_sees_its_departments_tasks(engine: Engine, plans: Plans) -> None:
    city = _unit_id(engine, "株洲市人民政府")
    with session_scope() as session:
        own = set(usecases.task_ids_for_unit(session, city, include_children=False))
        all_ = set(usecases.task_ids_for_unit(session, city))
    assert plans.ids["shifeng"] in all_ and plans.ids["shifeng"] not in own


def test_units_tasks_route(client: TestClient, engine: Engine, plans: Plans) -> None:
    shifeng = _unit_id(engine, "株洲市石峰区人民政府")
    body = client.get(f"/units/{shifeng}/tasks").json()
    assert {plans.ids["shifeng"], plans.ids["districts"]} <= {t["id"] for t in body["tasks"]}
    assert client.get("/units/2147483000/tasks").status_code == 404


def test_an_editor_reports_on_their_units_task(client: TestClient, plans: Plans) -> None:
    r = client.post(f"/projects/{plans.ids['shifeng']}/progress", json=REPORT, headers=plans.auth("shifeng"))
    assert r.status_code == 201, r.text
    via_group = client.post(f"/projects/{plans.ids['districts']}/progress", json=REPORT, headers=plans.auth("shifeng"))
    assert via_group.status_code == 201, via_group.text
    # a unit above (the city government) may report on its districts' tasks
    r = client.post(f"/projects/{plans.ids['shifeng']}/progress", json=REPORT, headers=plans.auth("city"))
    assert r.status_code == 201, r.text


def test_an_editor_of_another_unit_is_refused_with_the_reason(client: TestClient, engine: Engine, plans: Plans) -> None:
    pid = plans.ids["shifeng"]
    r = client.post(f"/projects/{pid}/progress", json=REPORT, headers=plans.auth("luosong"))
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert "无权填报" in detail and "not your unit's task" in detail
    assert "株洲市芦淞区人民政府" in detail and "株洲市石峰区人民政府" in detail  # who asked, whose task it is
    with engine.connect() as conn:
        reports = conn.execute(text("SELECT count(*) FROM progress_reports WHERE reported_by LIKE '%luosong'")).scalar()
        refused = (
            conn.execute(
                text("SELECT after->>'reason' FROM audit_log WHERE action = 'progress.refused' AND entity_id = :p"),
                {"p": str(pid)},
            )
            .scalars()
            .all()
        )
    assert reports == 0 and refused and "株洲市芦淞区人民政府" in refused[-1]


def test_an_editor_without_a_unit_is_refused(client: TestClient, plans: Plans) -> None:
    r = client.post(f"/projects/{plans.ids['shifeng']}/progress", json=REPORT, headers=plans.auth("none"))
    assert r.status_code == 403 and "未归属任何单位" in r.json()["detail"] and "no unit" in r.json()["detail"]


def test_a_successor_reports_on_the_tasks_of_the_units_it_took_over(client: TestClient, plans: Plans) -> None:
    r = client.post(f"/projects/{plans.ids['land']}/progress", json=REPORT, headers=plans.auth("ziran"))
    assert r.status_code == 201, r.text


def test_a_coordinator_reports_on_every_task(client: TestClient, plans: Plans) -> None:
    for key in ("shifeng", "luosong", "typo"):  # typo: no unit resolved at all
        r = client.post(f"/projects/{plans.ids[key]}/progress", json=REPORT, headers=plans.auth("coordinator"))
        assert r.status_code == 201, r.text


def test_plan_without_city_is_flagged_on_its_task(engine: Engine, plans: Plans) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT raw, unit_id, reason FROM project_units WHERE project_id = :p ORDER BY raw"),
            {"p": plans.ids["nocity-dfg"]},
        ).all()
    by_raw = {r.raw: r for r in rows}
    assert by_raw["省发改委"].unit_id is not None
    assert by_raw["市发改委"].unit_id is None and "计划未注明城市" in by_raw["市发改委"].reason
