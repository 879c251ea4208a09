"""POST /geocode, GET /projects (filters, paging), the review queue, and a manual location that survives re-runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.database import session_scope
from service.geocoding import usecases as geocoding
from service.geocoding.usecases import geocode_pending
from service.projects.register import ProjectRecord, upsert_plans, upsert_projects
from service.projects.usecases import load_bundled_plans

TEST_PLAN = "zz-test-geocoder"


def geocode_projects(engine: Engine, **options: object) -> geocoding.GeocodeSummary:
    with session_scope(engine) as session:
        return geocoding.geocode_projects(session, **options)  # type: ignore[arg-type]


def test_geocode_finds_roads_with_spans_and_a_geometry(client: TestClient) -> None:
    body = {"text": "加快推进株冶路、清雨路、清霞路实质性开工建设", "city": "株洲市"}
    response = client.post("/geocode", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["precision"] == 1
    assert [m["name"] for m in answer["matches"]] == ["株冶路", "清雨路", "清霞路"]
    first = answer["matches"][0]
    assert first["layer"] == "roads" and first["span"] == [4, 7] and first["feature_id"]
    assert 0.9 <= first["confidence"] <= 1
    assert answer["geometry"]["type"] == "MultiLineString"
    assert answer["unresolved"] == []


def test_geocode_expands_a_shared_suffix_and_reads_traditional_script(client: TestClient) -> None:
    answer = client.post("/geocode", json={"text": "完成清水、铜霞片区土壤治理", "city": "株洲"}).json()
    assert {m["name"] for m in answer["matches"]} == {"清水湖片区", "铜霞片区"}
    basin = client.post("/geocode", json={"text": "推進湘江流域管理"}).json()
    assert [m["name"] for m in basin["matches"]] == ["湘江"] and basin["precision"] == 5


def test_geocode_without_places_falls_back_to_the_seat(client: TestClient) -> None:
    answer = client.post("/geocode", json={"text": "建立绿色信贷评估办法", "city": "株洲市", "lead_unit": "市环保局"})
    body = answer.json()
    assert body["precision"] == 8 and body["matches"][0]["name"] == "株洲市人民政府"
    assert body["geometry"]["type"] == "Point"


def test_geocode_rejects_empty_text_as_problem_json(client: TestClient) -> None:
    response = client.post("/geocode", json={"text": "  "})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "text" in response.json()["detail"]
    assert client.post("/geocode", json={"city": "株洲市"}).status_code == 400


def test_setup_geocoded_every_project(engine: Engine) -> None:
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT location_status, count(*) FROM projects GROUP BY 1")).all())
        unlocated = conn.execute(
            text("SELECT count(*) FROM projects WHERE plan_id <> :p AND geom IS NULL"), {"p": TEST_PLAN}
        ).scalar_one()
    assert states.get("pending", 0) == 0
    assert sum(states.values()) >= 119 and unlocated == 0
    assert states.get("review", 0) + states.get("unresolved", 0) <= 5
    geocode_pending(engine)  # whatever other tests added since setup
    assert geocode_pending(engine) == "nothing to geocode"


def test_projects_filters_and_paging(client: TestClient) -> None:
    page = client.get("/projects", params={"plan": "zhuzhou-2018", "limit": 10}).json()
    assert page["numberMatched"] == 91 and page["numberReturned"] == 10
    assert any(link["rel"] == "next" for link in page["links"])
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(nxt).json()
    assert second["offset"] == 10 and second["items"][0]["id"] != page["items"][0]["id"]

    roads = client.get("/projects", params={"q": "株冶路"}).json()
    assert "zhuzhou-2018/annex2/5.1" in {p["key"] for p in roads["items"]}
    shifeng = client.get("/projects", params={"district": "石峰区", "limit": 1000}).json()
    assert "zhuzhou-2018/annex2/5.1" in {p["key"] for p in shifeng["items"]}
    by_lead = client.get("/projects", params={"lead_unit": "市住建局"}).json()
    assert by_lead["numberMatched"] >= 5 and all("市住建局" in p["lead_units"] for p in by_lead["items"])
    exact = client.get("/projects", params={"precision": 1, "category": "碧水蓝天"}).json()
    assert exact["items"] and all(p["precision"] == 1 for p in exact["items"])

    not_started = client.get("/projects", params={"status": "应开工未开工", "plan": "changzhutan-2010"}).json()
    assert not_started["numberMatched"] <= 28
    review = client.get("/projects", params={"status": "review"}).json()
    assert all(p["location_status"] == "review" for p in review["items"])
    bad = client.get("/projects", params={"status": "done"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "status"
    assert client.get("/projects", params={"limit": 0}).status_code == 400


@pytest.fixture
def review_project(engine: Engine) -> Iterator[int]:
    """A project naming a road no layer has (the bundled plans no longer leave one in review)."""
    record = ProjectRecord(
        plan=TEST_PLAN, key=f"{TEST_PLAN}/review", section="test", number="2", title="测试",
        task_text="启动星辉大道前期工作", category="基础设施", lead_units=["市住建局"], year=2018,
    )  # fmt: skip
    with session_scope(engine) as session:
        upsert_plans(session, [{"id": TEST_PLAN, "title": "test", "year": 2018, "city": "株洲市"}])
        upsert_projects(session, [record])
        project_id = session.execute(text("SELECT id FROM projects WHERE key = :k"), {"k": record.key}).scalar_one()
    geocode_projects(engine, plan=TEST_PLAN)
    try:
        yield project_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": TEST_PLAN})


def test_review_queue_says_why(client: TestClient, review_project: int) -> None:
    queue = client.get("/projects/review").json()
    assert review_project in [item["id"] for item in queue["items"]], "an unknown road must go to review"
    for item in queue["items"]:
        assert item["location_status"] in ("review", "unresolved")
        reasons = item["reasons"]
        assert reasons["ambiguous"] or reasons["unresolved"] or reasons["nothing_found"]
    mine = next(item for item in queue["items"] if item["id"] == review_project)
    assert "星辉大道" in str(mine["reasons"]["unresolved"])


def test_project_detail_has_its_locations(client: TestClient) -> None:
    listed = client.get("/projects", params={"q": "株冶路、清雨路"}).json()["items"][0]
    detail = client.get(f"/projects/{listed['id']}")
    assert detail.status_code == 200 and detail.headers["etag"]
    project = detail.json()
    assert project["geometry"]["type"] in ("GeometryCollection", "MultiLineString")
    names = [loc["name"] for loc in project["locations"]]
    assert names[:3] == ["株冶路", "清雨路", "清霞路"]
    loc = project["locations"][0]
    assert loc["method"] == "gazetteer" and loc["precision"] == 1 and loc["exactness"] == 1
    assert loc["location_class"] == 3 and project["task_text"][loc["span"][0] : loc["span"][1]] == "株冶路"
    assert client.get("/projects/999999").status_code == 404


@pytest.fixture
def test_project(engine: Engine) -> Iterator[int]:
    """A project of a throwaway plan, geocoded like the bundled ones, removed afterwards."""
    record = ProjectRecord(
        plan=TEST_PLAN, key=f"{TEST_PLAN}/1", section="test", number="1", title="测试",
        task_text="完成枫溪港、陈埠港黑臭水体整治", category="碧水蓝天", lead_units=["市住建局"], year=2018,
    )  # fmt: skip
    with session_scope(engine) as session:
        upsert_plans(session, [{"id": TEST_PLAN, "title": "test", "year": 2018, "city": "株洲市"}])
        upsert_projects(session, [record])
        project_id = session.execute(text("SELECT id FROM projects WHERE key = :k"), {"k": record.key}).scalar_one()
    geocode_projects(engine, plan=TEST_PLAN)
    try:
        yield project_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": TEST_PLAN})


def test_manual_location_needs_an_editor_and_survives_reruns(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, test_project: int
) -> None:
    url = f"/projects/{test_project}/location"
    before = client.get(f"/projects/{test_project}").json()
    assert before["location_status"] == "auto" and {x["name"] for x in before["locations"]} == {"枫溪港", "陈埠港"}
    body = {"features": [{"layer": "streams", "key": "枫溪港"}], "note": "only the Fengxi works start this year"}
    assert client.put(url, json=body).status_code == 401
    assert client.put(url, json=body, headers=auth["viewer"]).status_code == 403
    assert client.put(url, json=body, headers={**auth["editor"], "If-Match": '"999"'}).status_code == 412

    response = client.put(url, json=body, headers=auth["editor"])
    assert response.status_code == 200, response.text
    placed = response.json()
    assert placed["location_status"] == "manual" and placed["precision"] == 1
    assert [(x["name"], x["method"]) for x in placed["locations"]] == [("枫溪港", "manual")]

    geocode_projects(engine, everything=True)
    load_bundled_plans(engine)
    after = client.get(f"/projects/{test_project}").json()
    assert after["location_status"] == "manual" and [x["name"] for x in after["locations"]] == ["枫溪港"]
    with engine.connect() as conn:
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'project.location' AND entity_id = :id"),
            {"id": str(test_project)},
        ).scalar_one()
    assert audited == 1

    drawn = {"type": "Point", "coordinates": [113.1, 27.85]}
    response = client.put(url, json={"geometry": drawn, "precision": 2}, headers=auth["editor"])
    assert response.status_code == 200 and response.json()["geometry"]["type"] == "Point"
    assert response.json()["precision"] == 2


def test_manual_location_rejects_bad_input(
    client: TestClient, auth: dict[str, dict[str, str]], test_project: int
) -> None:
    url = f"/projects/{test_project}/location"
    cases = [
        ({"features": [{"layer": "nowhere", "key": "x"}]}, "layer"),
        ({"features": [{"layer": "roads", "key": "不存在路"}]}, "不存在路"),
        # a bow tie in Zhuzhou (inside the service area, so it is PostGIS validity that refuses it)
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[113, 27], [113.1, 27.1], [113.1, 27], [113, 27.1], [113, 27]]],
                }
            },
            "invalid",
        ),
        ({"geometry": {"type": "Blob"}}, "geometry"),
        ({}, "features"),
        ({"features": [{"layer": "roads", "key": "株冶路"}], "precision": 7}, "precision"),
    ]
    for body, word in cases:
        response = client.put(url, json=body, headers=auth["editor"])
        assert response.status_code == 400, (body, response.text)
        assert word in response.json()["detail"], (body, response.json())
    assert client.put("/projects/999999/location", json=cases[1][0], headers=auth["editor"]).status_code == 404


def test_set_location_is_one_use_case_outside_http_too(engine: Engine, test_project: int) -> None:
    """The route's work lives in service.projects.usecases: a plain session gets the same checks and audit."""
    from service.errors import Problem
    from service.projects.locations import LocationIn
    from service.projects.usecases import set_location

    body = LocationIn.model_validate({"features": [{"layer": "streams", "key": "陈埠港"}], "note": "use case"})
    with session_scope(engine) as session, pytest.raises(Problem) as refused:
        set_location(session, "test-usecase", test_project, body, '"999"')
    assert refused.value.status == 412
    with session_scope(engine) as session:
        placed = set_location(session, "test-usecase", test_project, body, None)
    assert placed["location_status"] == "manual" and [x["name"] for x in placed["locations"]] == ["陈埠港"]
    with engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_log WHERE actor = 'test-usecase' AND entity_id = :id ORDER BY id"),
            {"id": str(test_project)},
        ).scalars()
        assert list(actions) == ["project.location.rejected", "project.location"]


def test_setup_names_the_use_cases_of_projects_and_geocoding() -> None:
    from importlib import import_module

    from service.setup import STEPS

    targets = dict(STEPS)
    ours = {
        "plans": "service.projects.usecases:load_bundled_plans",
        "geocoding": "service.geocoding.usecases:geocode_pending",
    }
    for label, target in ours.items():
        assert targets[label] == target
        module, _, name = target.partition(":")
        assert callable(getattr(import_module(module), name))
