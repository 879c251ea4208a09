"""Batch screening of stored projects, its CSV / HTML / PDF reports, the CLI and the web map."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from tests.screening.conftest import ScreeningZones, metric_box, metric_point

PROJECTS = {
    # key: (title, task text, geometry or None)
    "t7-p-quarry": ("完成中央环保督察整改任务", "做好3个片石场项目关闭退出的后续处理工作。", metric_point(500, 500)),
    "t7-p-factory": ("新建化工厂", "新建化工项目", metric_box(5000, -500, 6000, 500)),
    "t7-p-outside": ("城区道路", "道路建设", metric_point(0, 20000)),
    "t7-p-nowhere": ("全市统筹", "全市范围工作", None),
}


@pytest.fixture(scope="module")
def project_ids(engine, zones: ScreeningZones) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year) VALUES ('t7-plan', '测试计划', 2018) ON CONFLICT DO NOTHING")
        )
        ids = {}
        for key, (title, task, geom) in PROJECTS.items():
            ids[key] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, geom) VALUES "
                    "(:key, 't7-plan', :title, :task, '绿心保护与建设', ST_GeomFromText(:wkt, 4326)) RETURNING id"
                ),
                {"key": key, "title": title, "task": task, "wkt": geom.wkt if geom is not None else None},
            ).scalar_one()
    return ids


def test_batch_screens_records_and_reports(client, auth, project_ids: dict[str, int]) -> None:
    r = client.post(
        "/screening/batch",
        json={"date": "2018-06-01", "project_ids": list(project_ids.values())},
        headers=auth["inspector"],
    )
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["screened"], batch["flagged"], batch["skipped_without_geometry"]) == (3, 2, 1)
    by_project = {row["project_id"]: row for row in batch["results"]}
    quarry = by_project[project_ids["t7-p-quarry"]]
    assert quarry["flagged"] and quarry["verdict"] == "allowed"  # closing quarries is what the rule asks
    assert quarry["hits"][0]["subzone"] == "禁止开发区"
    factory = by_project[project_ids["t7-p-factory"]]
    assert factory["verdict"] == "prohibited" and factory["hits"][0]["subzone"] == "限制开发区"
    assert by_project[project_ids["t7-p-outside"]]["verdict"] == "outside"

    listed = client.get(f"/screenings?batch={batch['batch']}", headers=auth["inspector"]).json()["screenings"]
    assert len(listed) == 3 and {s["batch"] for s in listed} == {batch["batch"]}
    single = client.post(
        f"/projects/{project_ids['t7-p-factory']}/screening?date=2018-06-01", headers=auth["inspector"]
    )
    assert single.status_code == 201 and single.json()["verdict"] == "prohibited"
    factory_record = client.get(f"/screenings/{factory['screening_id']}", headers=auth["inspector"]).json()
    [a] = [z for e in single.json()["layers"] for z in e["zones"]]
    [b] = [z for e in factory_record["layers"] for z in e["zones"]]
    assert abs(a["overlap_m2"] - b["overlap_m2"]) / a["overlap_m2"] < 1e-6  # batch and single agree

    links = batch["links"]
    csv_text = client.get(links["csv"], headers=auth["inspector"]).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert {r["zone_verdict"] for r in rows} == {"allowed", "prohibited", "outside"}
    assert any(r["subzone"] == "禁止开发区" and "片石场" not in r["project"] for r in rows)
    html = client.get(links["html"], headers=auth["inspector"])
    assert html.status_code == 200 and html.text.count("data:image/png;base64,") == 2 and "禁止开发区" in html.text
    pdf = client.get(links["pdf"], headers=auth["inspector"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"NotoSansCJK" in pdf.content
    # the reports return bytes and a media type (issue #13); the route still offers them as before
    assert report_headers(client.get(links["csv"], headers=auth["inspector"])) == (
        "text/csv; charset=utf-8",
        'attachment; filename="screening.csv"',
    )
    assert report_headers(pdf) == ("application/pdf", 'inline; filename="screening.pdf"')
    assert report_headers(html) == ("text/html; charset=utf-8", None)
    assert client.get(links["csv"].replace("csv", "docx"), headers=auth["inspector"]).status_code == 404
    assert client.get("/screening/batches/nope/report.csv", headers=auth["inspector"]).status_code == 404


def report_headers(r) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    return r.headers["content-type"], r.headers.get("content-disposition")


def test_reports_are_bytes_and_a_media_type() -> None:
    from service.errors import Problem
    from service.screening.reports import FORMATS, render_report

    for fmt in FORMATS:
        body, media_type = render_report([], fmt, title="空")
        assert isinstance(body, bytes) and media_type.startswith(("text/", "application/pdf"))
    with pytest.raises(Problem) as refused:
        render_report([], "docx", title="t")
    assert refused.value.status == 404


def test_project_without_geometry_is_a_409(client, auth, project_ids: dict[str, int]) -> None:
    r = client.post(f"/projects/{project_ids['t7-p-nowhere']}/screening", headers=auth["inspector"])
    assert r.status_code == 409 and "no geometry" in r.json()["detail"]
    assert client.post("/projects/999999/screening", headers=auth["inspector"]).status_code == 404
    assert client.get("/projects/999999/screening", headers=auth["inspector"]).status_code == 404


def test_cli_screens_and_writes_reports(project_ids: dict[str, int], tmp_path: Path) -> None:
    from service.cli.main import app

    args = ["screen", "--date", "2018-06-01", "--out", str(tmp_path), "--formats", "csv,html"]
    for pid in project_ids.values():
        args += ["--project", str(pid)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3 projects screened" in result.output and "2 flagged" in result.output
    assert (tmp_path / "report.csv").read_text("utf-8-sig").count("t7") == 0  # titles, not keys
    assert "禁止开发区" in (tmp_path / "report.html").read_text("utf-8")
    assert CliRunner().invoke(app, ["screen"]).exit_code == 2
    assert CliRunner().invoke(app, ["screen", "--all", "--date", "2018-13-01"]).exit_code == 2


def test_map_page(client, auth, zones: ScreeningZones) -> None:
    body = {"geometry": shapely.geometry.mapping(metric_box(2500, -500, 3500, 500)), "buffer_m": 1500}
    answer = client.post("/screening", json=body, headers=auth["inspector"]).json()
    page = client.get(answer["links"]["map"], headers=auth["inspector"])
    assert page.status_code == 200 and "leaflet" in page.text.lower()
    assert "重叠部分" in page.text or "\\u91cd\\u53e0\\u90e8\\u5206" in page.text  # folium may escape it
    assert client.get(answer["links"]["map"]).status_code == 401
    assert client.get("/maps/screening/999999", headers=auth["inspector"]).status_code == 404
    report = client.get(answer["links"]["report_pdf"], headers=auth["inspector"])
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    html = client.get(answer["links"]["report_html"], headers=auth["inspector"])
    assert html.status_code == 200 and "data:image/png;base64," in html.text and "测试核心保护区" in html.text
    rules = client.get("/screening/rules", headers=auth["inspector"]).json()
    assert {s["scheme"] for s in rules["schemes"]} >= {"2010-2030", "2024"}
    assert "closure_remediation" in {c["id"] for c in rules["categories"]}


def test_seed_green_heart_tasks_show_up_in_a_batch(client, auth, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        seeded = (
            conn.execute(
                text(
                    "SELECT id FROM projects WHERE key NOT LIKE 't7-%' AND geom IS NOT NULL AND "
                    "(task_text LIKE '%片石场%' OR task_text LIKE '%违法违规项目%' "
                    "OR task_text LIKE '%工业项目分类处置退出%')"
                )
            )
            .scalars()
            .all()
        )
    if not seeded:
        pytest.skip("the seed plans' Green Heart tasks are not loaded or not geocoded")
    r = client.post("/screening/batch", json={"date": "2018-06-01", "project_ids": seeded}, headers=auth["inspector"])
    flagged = {row["project_id"] for row in r.json()["results"] if row["flagged"]}
    hits = {row["project_id"]: row["hits"] for row in r.json()["results"]}
    for pid in seeded:
        assert pid in flagged, pid
        assert any(h["layer"] == "green_heart" for h in hits[pid]), pid


def test_invalid_stored_geometry_is_repaired_in_the_batch_too(client, auth, engine, zones: ScreeningZones) -> None:  # type: ignore[no-untyped-def]
    a, b, c, d = (metric_point(*xy) for xy in ((-1000, -1000), (1000, 1000), (1000, -1000), (-1000, 1000)))
    bowtie = f"POLYGON(({a.x} {a.y}, {b.x} {b.y}, {c.x} {c.y}, {d.x} {d.y}, {a.x} {a.y}))"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year) VALUES ('t7-plan', '测试计划', 2018) ON CONFLICT DO NOTHING")
        )
        pid = conn.execute(
            text(
                "INSERT INTO projects (key, plan_id, title, task_text, geom) VALUES "
                "('t7-p-bowtie', 't7-plan', '蝴蝶形', '新建化工项目', ST_GeomFromText(:wkt, 4326)) RETURNING id"
            ),
            {"wkt": bowtie},
        ).scalar_one()
    batch = client.post(
        "/screening/batch", json={"date": "2018-06-01", "project_ids": [pid]}, headers=auth["inspector"]
    ).json()
    single = client.post(f"/projects/{pid}/screening?date=2018-06-01", headers=auth["inspector"]).json()
    [row] = batch["results"]
    recorded = client.get(f"/screenings/{row['screening_id']}", headers=auth["inspector"]).json()
    assert recorded["input"]["repairs"] and single["input"]["repairs"]
    [x] = [z for e in recorded["layers"] for z in e["zones"] if z["inside"]]
    [y] = [z for e in single["layers"] for z in e["zones"] if z["inside"]]
    assert x["verdict"] == y["verdict"] == "prohibited"
    assert abs(x["overlap_m2"] - y["overlap_m2"]) / y["overlap_m2"] < 1e-3, (x["overlap_m2"], y["overlap_m2"])


def test_batch_with_a_buffer_matches_single_screenings(client, auth, engine, zones: ScreeningZones) -> None:  # type: ignore[no-untyped-def]
    sites = {"t7-p-near-point": metric_point(0, 3500), "t7-p-near-box": metric_box(-500, 3300, 500, 4000)}
    ids = []
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year) VALUES ('t7-plan', '测试计划', 2018) ON CONFLICT DO NOTHING")
        )
        for key, geom in sites.items():
            ids.append(
                conn.execute(
                    text(
                        "INSERT INTO projects (key, plan_id, title, task_text, geom) VALUES "
                        "(:key, 't7-plan', :key, '道路建设', ST_GeomFromText(:wkt, 4326)) RETURNING id"
                    ),
                    {"key": key, "wkt": geom.wkt},
                ).scalar_one()
            )
    batch = client.post(
        "/screening/batch", json={"date": "2018-06-01", "buffer_m": 1000, "project_ids": ids}, headers=auth["inspector"]
    ).json()
    assert batch["flagged"] == 2
    for row in batch["results"]:
        recorded = client.get(f"/screenings/{row['screening_id']}", headers=auth["inspector"]).json()
        single = client.post(
            f"/projects/{row['project_id']}/screening?date=2018-06-01&buffer_m=1000", headers=auth["inspector"]
        ).json()
        [a] = [z for e in recorded["layers"] for z in e["zones"] if z["zone_key"] == "t7-old-prohibited"]
        [b] = [z for e in single["layers"] for z in e["zones"] if z["zone_key"] == "t7-old-prohibited"]
        assert a["inside"] is b["inside"] is False and a["verdict"] == "outside"
        assert abs(a["distance_m"] - b["distance_m"]) < 0.01 and 250 < a["distance_m"] < 550
        with_map = client.get(f"/screenings/{row['screening_id']}?include_map=true", headers=auth["inspector"]).json()
        assert with_map["map"]["green_heart/t7-old-prohibited"]["shortest_line"]


def _counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return (
            int(conn.execute(text("SELECT count(*) FROM screenings")).scalar_one()),
            int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()),
        )


def _audit_since(engine, marker: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor, action, entity, entity_id, after FROM audit_log WHERE id > :m ORDER BY id"),
            {"m": marker},
        ).mappings()
        return [dict(r) for r in rows]


def _audit_marker(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one())


def test_project_screening_get_reads_and_post_records(client, auth, engine, project_ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """Issue #13: the GET used to record a screening without an audit entry; now the POST records, the GET reads."""
    with engine.begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO projects (key, plan_id, title, task_text, geom) VALUES "
                "('t7-p-get', 't7-plan', '只读', '新建化工项目', ST_GeomFromText(:wkt, 4326)) RETURNING id"
            ),
            {"wkt": metric_box(5000, -500, 6000, 500).wkt},
        ).scalar_one()

    before = _counts(engine)
    none_yet = client.get(f"/projects/{pid}/screening", headers=auth["inspector"])
    assert none_yet.status_code == 404 and f"POST /projects/{pid}/screening" in none_yet.json()["detail"]
    assert _counts(engine) == before  # a GET writes nothing, not even when there is nothing to read

    marker = _audit_marker(engine)
    made = client.post(f"/projects/{pid}/screening?date=2018-06-01", headers=auth["inspector"])
    assert made.status_code == 201 and made.headers["location"] == made.json()["links"]["self"]
    answer = made.json()
    assert answer["verdict"] == "prohibited" and answer["project_id"] == pid
    assert answer["links"]["map_shared"].startswith(f"/maps/screening/{answer['id']}?expires=")
    assert _counts(engine) == (before[0] + 1, before[1] + 1)
    [entry] = _audit_since(engine, marker)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        answer["actor"],
        "screen",
        "screening",
        str(answer["id"]),
    )
    assert entry["after"] == {"verdict": "prohibited", "project_id": pid}

    after_post = _counts(engine)
    read = client.get(f"/projects/{pid}/screening", headers=auth["inspector"])
    assert read.status_code == 200 and _counts(engine) == after_post
    assert read.json()["id"] == answer["id"] and read.json()["verdict"] == "prohibited"
    assert read.json()["links"]["self"] == f"/screenings/{answer['id']}"

    newer = client.post(f"/projects/{pid}/screening?date=2025-01-01", headers=auth["inspector"]).json()
    assert client.get(f"/projects/{pid}/screening", headers=auth["inspector"]).json()["id"] == newer["id"]

    assert client.post(f"/projects/{pid}/screening").status_code == 401
    assert client.post(f"/projects/{pid}/screening", headers=auth["viewer"]).status_code == 403
    assert client.get(f"/projects/{pid}/screening", headers=auth["viewer"]).status_code == 403


def test_cli_batch_writes_the_same_audit_entry_as_the_api(project_ids: dict[str, int], tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    """Issue #13: ``xiangmap screen`` wrote no audit entry while POST /screening/batch did; both use screen_batch."""
    from service.cli.main import app

    marker = _audit_marker(engine)
    args = ["screen", "--date", "2018-06-01", "--out", str(tmp_path), "--formats", "csv"]
    for pid in project_ids.values():
        args += ["--project", str(pid)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    [entry] = _audit_since(engine, marker)
    assert entry["actor"].startswith("cli:")
    assert (entry["action"], entry["entity"]) == ("screen-batch", "screening_batch")
    assert entry["after"]["screened"] == 3 and entry["after"]["flagged"] == 2
    assert f"batch {entry['entity_id']}:" in result.output
    with engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT count(*) FROM screenings WHERE params->>'batch' = :b"), {"b": entry["entity_id"]}
        ).scalar_one()
    assert recorded == 3
