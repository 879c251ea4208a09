"""Who may report: an editor on their unit's tasks (the form), an editor of another unit gets a Chinese page
saying why (403, no form, the refusal audited, nothing stored), a viewer sees the task but cannot report,
a coordinator reports on any task; the form's post needs its CSRF token."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.tasks.conftest import TaskWorld, form_token, jpeg

FIELDS = {"period": "2018-09", "status": "推进中", "percent": "40", "note": "越权填报"}


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_an_editor_of_another_unit_is_told_why_and_gets_no_form(editor_browser: TestClient, world: TaskWorld) -> None:
    r = editor_browser.get(f"/tasks/{world.ids['other']}/report")
    assert r.status_code == 403
    assert "无权填报" in r.text and "株洲市石峰区人民政府" in r.text and "株洲市芦淞区人民政府" in r.text
    assert "<form" not in r.text.split("<main")[1].replace('<form class="signout"', "")
    assert f'href="/tasks/{world.ids["other"]}"' in r.text
    page = editor_browser.get(f"/tasks/{world.ids['other']}")  # the task page itself opens, without the link
    assert page.status_code == 200 and f'href="/tasks/{world.ids["other"]}/report"' not in page.text


def test_their_post_is_refused_audited_and_stores_nothing(
    editor_browser: TestClient, world: TaskWorld, engine: Engine
) -> None:
    other = world.ids["other"]
    token = form_token(editor_browser, world.ids["road"])  # a token of their own session, from a form they may use
    audits = _count(
        engine, "SELECT count(*) FROM audit_log WHERE action = 'progress.refused' AND entity_id = :p", p=str(other)
    )
    r = editor_browser.post(
        f"/tasks/{other}/report",
        data={"csrf_token": token, **FIELDS},
        files=[("evidence", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.status_code == 403 and "无权填报" in r.text
    assert _count(engine, "SELECT count(*) FROM progress_reports WHERE project_id = :p", p=other) == 0
    assert _count(engine, "SELECT count(*) FROM evidence_files WHERE project_id = :p", p=other) == 0
    after = _count(
        engine, "SELECT count(*) FROM audit_log WHERE action = 'progress.refused' AND entity_id = :p", p=str(other)
    )
    assert after == audits + 1


def test_a_viewer_cannot_report(viewer_browser: TestClient, world: TaskWorld, engine: Engine) -> None:
    road = world.ids["road"]
    r = viewer_browser.get(f"/tasks/{road}/report")
    assert r.status_code == 403 and "只能查看，不能填报" in r.text and 'name="percent"' not in r.text
    token = viewer_browser.get(f"/tasks/{road}").text.split('name="csrf_token" value="')[1].split('"')[0]
    before = _count(engine, "SELECT count(*) FROM progress_reports WHERE project_id = :p", p=road)
    r = viewer_browser.post(f"/tasks/{road}/report", data={"csrf_token": token, **FIELDS})
    assert r.status_code == 403 and "只能查看" in r.text
    assert _count(engine, "SELECT count(*) FROM progress_reports WHERE project_id = :p", p=road) == before


def test_a_coordinator_reports_on_any_task(
    coordinator_browser: TestClient, world: TaskWorld, engine: Engine, owner_engine: Engine
) -> None:
    other = world.ids["other"]
    token = form_token(coordinator_browser, other)
    r = coordinator_browser.post(f"/tasks/{other}/report", data={"csrf_token": token, **FIELDS | {"note": "统筹代报"}})
    assert r.status_code == 303, r.text
    assert _count(engine, "SELECT count(*) FROM progress_reports WHERE project_id = :p", p=other) == 1
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p"), {"p": other})


def test_the_form_needs_its_csrf_token(editor_browser: TestClient, world: TaskWorld, engine: Engine) -> None:
    area = world.ids["area"]
    r = editor_browser.post(f"/tasks/{area}/report", data=FIELDS, headers={"Accept": "text/html"})
    assert r.status_code == 403 and "表单已过期" in r.text
    assert _count(engine, "SELECT count(*) FROM progress_reports WHERE project_id = :p", p=area) == 0
