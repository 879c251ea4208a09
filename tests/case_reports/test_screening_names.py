"""A screening request carries a name and a note (issue 16): stored with the record, in the JSON answer, in the
HTML and PDF reports' titles (not "geojson"), for a single site and a batch; too long or hostile is a 400."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import shapely.wkt
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from tests.case_reports.conftest import TAG, point_in

NAME = "雨湖区绿心核心区<b>厂房</b>"
NOTE = "群众举报，现场核实。\n第二行备注"


@pytest.fixture(scope="module")
def inside_green_heart(engine: Engine) -> dict:
    with engine.connect() as conn:
        return mapping(shapely.wkt.loads(point_in(conn, "湘潭市")))


def pdf_text(tmp_path: Path, content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/bootstrap.sh test) is missing")
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_name_and_note_round_trip_through_the_api_and_the_reports(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, inside_green_heart: dict, tmp_path: Path
) -> None:
    answer = client.post(
        "/screening",
        json={"geometry": inside_green_heart, "name": f"  {NAME}  ", "note": NOTE},
        headers=auth["inspector"],
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["name"] == NAME and body["note"] == NOTE  # trimmed, kept as sent
    assert body["flagged"] is True
    again = client.get(body["links"]["self"], headers=auth["inspector"]).json()
    assert again["name"] == NAME and again["note"] == NOTE
    with engine.connect() as conn:
        params = conn.execute(text("SELECT params FROM screenings WHERE id = :id"), {"id": body["id"]}).scalar_one()
    assert params["name"] == NAME and params["note"] == NOTE

    html = client.get(body["links"]["report_html"], headers=auth["inspector"]).text
    assert f"<h1>雨湖区绿心核心区&lt;b&gt;厂房&lt;/b&gt;（筛查记录 #{body['id']}）" in html  # escaped, in the title
    assert "<b>厂房</b>" not in html and "群众举报" in html
    assert "<td>geojson</td>" not in html

    pdf = client.get(body["links"]["report_pdf"], headers=auth["inspector"])
    words = pdf_text(tmp_path, pdf.content)
    assert "雨湖区绿心核心区<b>厂房</b>" in words and "群众举报" in words
    assert "geojson" not in words


def test_a_form_post_carries_them_too(
    client: TestClient, auth: dict[str, dict[str, str]], inside_green_heart: dict
) -> None:
    import json

    r = client.post(
        "/screening",
        data={"geometry": json.dumps(inside_green_heart), "name": "表单提交的场地", "note": ""},
        headers=auth["inspector"],
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "表单提交的场地" and r.json()["note"] is None  # blank is none


def test_without_a_name_the_answer_says_so(
    client: TestClient, auth: dict[str, dict[str, str]], inside_green_heart: dict
) -> None:
    body = client.post("/screening", json={"geometry": inside_green_heart}, headers=auth["inspector"]).json()
    assert body["name"] is None and body["note"] is None
    html = client.get(body["links"]["report_html"], headers=auth["inspector"]).text
    assert f"<h1>筛查记录 #{body['id']} · " in html


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"name": "长" * 101}, "名称最多 100 个字"),
        ({"name": "a\x00b"}, "名称含有控制字符"),
        ({"name": "两行\n名称"}, "名称含有控制字符"),
        ({"note": "注" * 2001}, "备注最多 2000 个字"),
        ({"name": 12}, "name"),  # pydantic's own message, naming the field like the others
    ],
)
def test_a_bad_name_or_note_is_a_400_and_records_nothing(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    engine: Engine,
    inside_green_heart: dict,
    fields: dict,
    word: str,
) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM screenings")).scalar_one()
    r = client.post("/screening", json={"geometry": inside_green_heart, **fields}, headers=auth["inspector"])
    assert r.status_code == 400, r.text
    assert word in r.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM screenings")).scalar_one() == before


def test_a_batch_carries_its_name_and_note(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, owner_engine: Engine, inside_green_heart: dict
) -> None:
    plan = f"{TAG}-screen-plan"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plans (id, title, year) VALUES (:id, '筛查名称测试', 2018)"), {"id": plan})
        pid = conn.execute(
            text(
                "INSERT INTO projects (key, plan_id, title, task_text, category, geom, precision)"
                " VALUES (:key, :plan, '绿心内的项目', '新建厂房', '绿心保护与建设',"
                " ST_GeomFromGeoJSON(:g), 1) RETURNING id"
            ),
            {"key": f"{plan}/1", "plan": plan, "g": __import__("json").dumps(inside_green_heart)},
        ).scalar_one()
    try:
        r = client.post(
            "/screening/batch",
            json={"project_ids": [pid], "name": "2026年一季度绿心督查", "note": "季度例行筛查"},
            headers=auth["inspector"],
        )
        assert r.status_code == 201, r.text
        batch = r.json()
        assert batch["name"] == "2026年一季度绿心督查" and batch["note"] == "季度例行筛查"
        html = client.get(batch["links"]["html"], headers=auth["inspector"]).text
        assert f"<h1>2026年一季度绿心督查（批量筛查 {batch['batch']}）" in html and "季度例行筛查" in html
        too_long = client.post(
            "/screening/batch", json={"project_ids": [pid], "name": "x" * 101}, headers=auth["inspector"]
        )
        assert too_long.status_code == 400 and "name" in too_long.json()["detail"]
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM screenings WHERE project_id = :id"), {"id": pid})
            conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": plan})
