"""GET /tasks/{id}: sign-in required, the task and its units, one derived status (the ledger's), the history
with who reported, the location's review state, hostile text escaped; the map's GeoJSON; the ledger links here."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.tasks.conftest import HOSTILE, TaskWorld
from tests.web.conftest import BROWSER_ACCEPT

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;清雨路改造"


def test_signed_out_goes_to_login(app: FastAPI, world: TaskWorld) -> None:
    with TestClient(app, follow_redirects=False) as c:
        r = c.get(f"/tasks/{world.ids['road']}", headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 303 and r.headers["location"] == f"/login?next=/tasks/{world.ids['road']}"
        r = c.get(f"/tasks/{world.ids['road']}/map.geojson")
        assert r.status_code in (303, 401) and "features" not in r.text


def test_the_page_shows_the_task_its_units_and_deadline(editor_browser: TestClient, world: TaskWorld) -> None:
    r = editor_browser.get(f"/tasks/{world.ids['road']}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    html = r.text
    assert f"任务页测试计划{world.plan.split('-')[0]}" in html and "（2018）" in html
    assert '<span class="task-no">3</span>清雨路改造' in html and "一、基础设施" in html
    assert "株洲市住房和城乡建设局" in html  # 市住建局 as the register links it
    assert "株洲市石峰区人民政府" in html
    assert "2018年底前" in html and "（2018-12-31）" in html
    assert f'href="/tasks/{world.ids["road"]}/report"' in html  # the editor's unit is responsible


def test_hostile_task_text_and_note_are_escaped(editor_browser: TestClient, world: TaskWorld) -> None:
    html = editor_browser.get(f"/tasks/{world.ids['road']}").text
    assert HOSTILE not in html and "<script>alert" not in html
    assert html.count(ESCAPED) >= 2  # the task text and the report's note


def test_one_derived_status_as_the_ledger_shows_it(
    editor_browser: TestClient, world: TaskWorld, engine: Engine
) -> None:
    from service.database import session_scope
    from service.ledger import usecases as ledger
    from service.ledger.filters import ALL_UNITS, LedgerFilters

    with session_scope() as session:
        rows = ledger.ledger_rows(session, LedgerFilters(plan=world.plan, unit=ALL_UNITS), date.today())
    row = next(r for r in rows if r["id"] == world.ids["road"])
    assert row["status"] == "已开工进展缓慢" and row["overdue"]  # 20 % in 2018, the deadline long past
    html = editor_browser.get(f"/tasks/{world.ids['road']}").text
    assert f'<span class="st st-{row["status"]}">{row["status"]}</span>' in html.split('id="h-state"')[1]
    assert '<span class="badge overdue">已逾期</span>' in html
    assert "已过完成时限" in html  # the delay reason, as the ledger words it
    assert "<dd>20%</dd>" in html


def test_history_says_who_reported(editor_browser: TestClient, world: TaskWorld) -> None:
    html = editor_browser.get(f"/tasks/{world.ids['road']}").text
    history = html.split('id="reports"')[1].split('id="evidence"')[0]
    assert "<td>2018-03</td>" in history and "test-coordinator" in history and "<td>20%</td>" in history


def test_location_review_state_links_the_queue_when_a_person_must_act(
    editor_browser: TestClient, world: TaskWorld
) -> None:
    road = editor_browser.get(f"/tasks/{world.ids['road']}").text
    assert "待人工复核" in road and f'href="/review/{world.ids["road"]}"' in road  # the review page (issue 19)
    assert "5 估计（沿道路、河流或两地之间）" in road
    area = editor_browser.get(f"/tasks/{world.ids['area']}").text
    assert "人工定位" in area and 'href="/review/' not in area


def test_a_missing_task_is_a_chinese_404(editor_browser: TestClient, world: TaskWorld) -> None:
    r = editor_browser.get("/tasks/2147483000", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 404 and "页面不存在" in r.text and "任务 2147483000 不存在" in r.text


def test_the_map_data_has_the_planned_geometry(editor_browser: TestClient, world: TaskWorld) -> None:
    r = editor_browser.get(f"/tasks/{world.ids['road']}/map.geojson")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    roles = [f["properties"]["role"] for f in r.json()["features"]]
    assert roles == ["planned"]
    assert r.json()["features"][0]["geometry"]["type"] == "LineString"


def test_a_viewer_sees_the_task_but_no_report_link(viewer_browser: TestClient, world: TaskWorld) -> None:
    r = viewer_browser.get(f"/tasks/{world.ids['road']}")
    assert r.status_code == 200 and "清雨路改造" in r.text
    assert f'href="/tasks/{world.ids["road"]}/report"' not in r.text
    assert "只能查看，不能填报" in r.text


def test_the_ledger_links_each_task_here(coordinator_browser: TestClient, world: TaskWorld) -> None:
    r = coordinator_browser.get("/ledger", params={"plan": world.plan})
    for task_id in world.ids.values():
        assert f'href="/tasks/{task_id}"' in r.text
