"""An inspector sets or corrects a project's screening category (issue 18): kept, audited, used by the single
and the batch screening, never overwritten by inference; an unknown category is a 400 with the list; the GET
that reads the latest screening refuses a category instead of ignoring it.  And what the reports state."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import Engine, text

from tests.screening.conftest import ScreeningZones, metric_point

TITLE = "清水塘片区污染土壤修复"


@pytest.fixture(scope="module")
def project_id(engine: Engine, zones: ScreeningZones) -> int:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year) VALUES ('t7-plan', '测试计划', 2018) ON CONFLICT DO NOTHING")
        )
        return conn.execute(
            text(
                "INSERT INTO projects (key, plan_id, title, task_text, category, geom) VALUES "
                "('t7-cat-1', 't7-plan', :title, '开展建设项目前期工作', '两型改革', ST_GeomFromText(:wkt, 4326))"
                " RETURNING id"
            ),
            {"title": TITLE, "wkt": metric_point(300, 300).wkt},  # inside the test core zone
        ).scalar_one()


def test_an_inspector_sets_the_category_and_every_screening_uses_it(client, auth, project_id: int, engine) -> None:  # type: ignore[no-untyped-def]
    url = f"/projects/{project_id}/screening-category"
    put = client.put(url, json={"category": "infrastructure", "reason": "实为园区道路工程"}, headers=auth["inspector"])
    assert put.status_code == 200, put.text
    shown = put.json()["category"]
    assert (shown["id"], shown["source"], shown["reason"]) == ("infrastructure", "inspector", "实为园区道路工程")
    single = client.post(f"/projects/{project_id}/screening?date=2018-06-01", headers=auth["inspector"]).json()
    assert single["category"]["id"] == "infrastructure" and single["category"]["set_by"]
    batch = client.post(
        "/screening/batch", json={"date": "2018-06-01", "project_ids": [project_id]}, headers=auth["inspector"]
    ).json()
    stored = client.get(f"/screenings/{batch['results'][0]['screening_id']}", headers=auth["inspector"]).json()
    assert stored["category"]["id"] == "infrastructure" and stored["category"]["source"] == "inspector"
    # a re-import or an edit of the task's words does not touch it
    with engine.begin() as conn:
        conn.execute(text("UPDATE projects SET task_text = '新建化工厂' WHERE id = :id"), {"id": project_id})
    assert client.get(url, headers=auth["inspector"]).json()["category"]["id"] == "infrastructure"
    with engine.connect() as conn:
        actions = (
            conn.execute(
                text("SELECT action FROM audit_log WHERE entity = 'project' AND entity_id = :id ORDER BY id"),
                {"id": str(project_id)},
            )
            .scalars()
            .all()
        )
    assert "set-screening-category" in actions
    cleared = client.delete(url, headers=auth["inspector"])
    assert cleared.status_code == 200 and cleared.json()["category"].get("source") != "inspector"
    assert client.delete(url, headers=auth["inspector"]).status_code == 404


def test_an_unknown_category_is_a_400_with_the_list_and_is_never_ignored(client, auth, project_id: int) -> None:  # type: ignore[no-untyped-def]
    bad = client.put(
        f"/projects/{project_id}/screening-category",
        json={"category": "养猫场", "reason": "x"},
        headers=auth["inspector"],
    )
    assert bad.status_code == 400 and "infrastructure" in bad.text
    post = client.post(f"/projects/{project_id}/screening?category=no-such", headers=auth["inspector"])
    assert post.status_code == 400 and "infrastructure" in post.text
    get = client.get(f"/projects/{project_id}/screening?category=industrial", headers=auth["inspector"])
    assert get.status_code == 400 and "screening-category" in get.text
    no_reason = client.put(
        f"/projects/{project_id}/screening-category",
        json={"category": "industrial", "reason": "   "},
        headers=auth["inspector"],
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    viewer = client.put(
        f"/projects/{project_id}/screening-category",
        json={"category": "industrial", "reason": "x"},
        headers=auth["viewer"],
    )
    assert viewer.status_code == 403


def test_the_reports_state_what_an_inspector_signs(client, auth, zones: ScreeningZones) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/screening",
        json={
            "geometry": {"type": "Point", "coordinates": [*metric_point(200, 200).coords[0]]},
            "crs": "EPSG:4326",
            "date": "2018-06-01",
            "category": "industrial",
            "name": "金山村拟建厂房",
            "note": "群众举报，现场核实",
        },
        headers=auth["inspector"],
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    html = client.get(f"/screenings/{sid}/report.html", headers=auth["inspector"])
    assert html.status_code == 200, html.text
    for words in ("金山村拟建厂房", "群众举报，现场核实", "筛查人", "适用日期", "类别依据", "输入坐标系", "收到的坐标"):
        assert words in html.text, words
    assert "不代替主管部门的审查" in html.text and "法规" in html.text and "test" in html.text  # regulation: test
    pdf = client.get(f"/screenings/{sid}/report.pdf", headers=auth["inspector"])
    assert pdf.status_code == 200
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text_of = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout
    compact = "".join(text_of.decode().split())
    for words in ("金山村拟建厂房", "筛查人", "类别依据", "输入坐标系", "不代替主管部门的审查"):
        assert words in compact, words
    shared = client.get(r.json()["links"]["map_shared"])
    assert shared.status_code == 200
    assert "xm-legend" in shared.text and "xm-verdict" in shared.text and "禁止" in shared.text
    assert "筛查人" in shared.text and "输入坐标系" in shared.text and "依据：" in shared.text  # as the report says
