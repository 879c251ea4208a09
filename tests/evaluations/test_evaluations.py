"""Frozen evaluations (issue 17): made at a date, they read byte for byte the same after later reports, edits
and rule changes; the scoreboard's numbers follow from its YAML by hand; two evaluations compare.

The world (tests/evaluations/world.py) is worked out by hand at 2018-09-30 with the bundled rule
(completion 40, timeliness 30, rectification 20, violations 10 with 2 points a case):

- 住建: 2 tasks, 1 已完成, 1 正常推进 → completion 40 × 1/2 = 20, timeliness 30 × 2/2 = 30; cases due in 2018 by
  09-30: 2, closed by their deadline: 1 → 20 × 1/2 = 10; violations found: 2 → 10 − 4 = 6.  Score 66.
- 城管 (line only, 正常推进) and 林业 (area, 正常推进): 0 + 30 + 20 (no case due: full) + 10 = 60, rank 2 both.
- 发改 (point, 应开工未开工): 0 + 0 + 20 + 10 = 30, rank 4.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pyogrio
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from service.evaluations import scoreboard
from service.evaluations import usecases as evaluation_usecases
from service.evaluations.report_xlsx import report_xlsx
from tests.evaluations.world import EvaluationWorld, build, drop
from tests.progress.world import post_reports

AS_OF = "2018-09-30"


@pytest.fixture(scope="module")
def world(engine: Engine, owner_engine: Engine, client, auth) -> Iterator[EvaluationWorld]:  # type: ignore[no-untyped-def]
    built = build(engine, owner_engine, client, auth, "ev")
    yield built
    drop(engine, owner_engine, built)


def make(client, auth, plan: str, as_of: str = AS_OF, kind: str = "quarterly") -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/evaluations.json", json={"kind": kind, "as_of": as_of, "plan": plan}, headers=auth["coordinator"])
    assert r.status_code == 201, r.text
    return r.json()


def fetch(client, auth, evaluation_id: int, name: str) -> bytes:  # type: ignore[no-untyped-def]
    r = client.get(f"/evaluations/{evaluation_id}/{name}", headers=auth["viewer"])
    assert r.status_code == 200, r.text
    return r.content


@pytest.fixture(scope="module")
def first(world: EvaluationWorld, client, auth) -> dict:  # type: ignore[no-untyped-def]
    made = make(client, auth, world.plan)
    snapshot = json.loads(fetch(client, auth, made["id"], "evaluation.json"))
    return made | {"doc": snapshot}


def test_the_snapshot_holds_every_task_its_class_and_what_it_was_computed_from(first: dict, world) -> None:  # type: ignore[no-untyped-def]
    doc = first["doc"]
    assert first["title"] == f"测试计划{world.tag} 2018年第三季度评估"
    tasks = {t["project_id"]: t for t in doc["tasks"]}
    ids = world.world.ids
    assert set(tasks) == set(ids.values())
    assert tasks[ids["line"]]["status"] == "正常推进"
    assert tasks[ids["line"]]["planned_pct"] == 5.0
    assert tasks[ids["city"]]["status"] == "已完成"
    assert (tasks[ids["point"]]["status"], tasks[ids["point"]]["delay_label"]) == ("应开工未开工", "应开工未开工")
    assert doc["summary"]["by_status"] == {
        "正常推进": 3,
        "已开工进展缓慢": 0,
        "应开工未开工": 1,
        "已完成": 1,
        "暂停": 0,
    }
    basis = doc["basis"]
    assert basis["data_version"] == first["data_version"]
    assert set(basis["rules"]) == {"geodata/rules/assessment.yaml", "service/common/derived_status.py"}
    assert all(len(sha) == 64 for sha in basis["rules"].values())
    units = {g["key"]: g for g in doc["groups"]["unit"]}
    assert units[world.units["zj"]]["projects"] == 2  # line and city
    assert units[world.units["cg"]]["projects"] == 1  # line, counted under each of its two units
    assert units["未列明"]["projects"] == 1  # nowhere


def test_the_scoreboard_follows_its_yaml_by_hand(first: dict, world) -> None:  # type: ignore[no-untyped-def]
    board = {u["unit"]: u for u in first["doc"]["scoreboard"]["units"]}
    zj = board[world.units["zj"]]
    assert [(p["part"], p["points"]) for p in zj["parts"]] == [
        ("completion", 20.0),
        ("timeliness", 30.0),
        ("rectification", 10.0),
        ("violations", 6.0),
    ]
    assert [p["basis"] for p in zj["parts"]][2:] == ["按期销号 1/2", "违法违规 2 件，每件扣 2 分"]
    assert (zj["score"], zj["rank"]) == (66.0, 1)
    assert (board[world.units["cg"]]["score"], board[world.units["cg"]]["rank"]) == (60.0, 2)
    assert (board[world.units["ly"]]["score"], board[world.units["ly"]]["rank"]) == (60.0, 2)
    assert (board[world.units["fg"]]["score"], board[world.units["fg"]]["rank"]) == (30.0, 4)
    assert board[world.units["ly"]]["parts"][2]["basis"] == "按期销号 无可计项（记满分）"
    rule = first["doc"]["scoreboard"]["rule"]
    assert (rule["version"], rule["weights"]) == (
        "2026.1",
        {"completion": 40.0, "timeliness": 30.0, "rectification": 20.0, "violations": 10.0},
    )
    assert first["rule_version"] == "长株潭两型社会建设重点任务考核 2026.1"


def test_an_evaluation_reads_byte_for_byte_the_same_after_reports_edits_and_rule_changes(  # type: ignore[no-untyped-def]
    first: dict, world: EvaluationWorld, client, auth, engine: Engine, monkeypatch
) -> None:
    eid = first["id"]
    before = {name: fetch(client, auth, eid, name) for name in ("evaluation.json", "report.pdf", "wallmap.png")}
    gpkg = fetch(client, auth, eid, "tasks.gpkg")
    # later: a report, new milestones, an edited title, and a new rule
    ids = world.world.ids
    post_reports(client, auth, ids["point"], [{"period": "2018-09", "status": "推进中", "percent": 40}])
    r = client.put(
        f"/projects/{ids['area']}/milestones",
        json={"milestones": [{"name": "开工", "due": "2018-05-31", "planned_percent": 10, "starts_work": True}]},
        headers=auth["coordinator"],
    )
    assert r.status_code == 200, r.text
    with engine.begin() as conn:
        conn.execute(text("UPDATE projects SET title = title || '（改）' WHERE id = :id"), {"id": ids["line"]})
    changed = (evaluation_usecases.rule_path().read_bytes().decode().replace("weight: 40", "weight: 50")).encode()
    new_rule = scoreboard.parse_rule(changed, "geodata/rules/assessment.yaml")
    monkeypatch.setattr(evaluation_usecases, "rule", lambda: new_rule)
    second = make(client, auth, world.plan)
    later = json.loads(fetch(client, auth, second["id"], "evaluation.json"))
    assert later["scoreboard"]["rule"]["weights"]["completion"] == 50.0  # the change took effect ...
    later_tasks = {t["project_id"]: t for t in later["tasks"]}
    assert later_tasks[ids["point"]]["status"] == "已开工进展缓慢"
    assert later_tasks[ids["area"]]["status"] == "应开工未开工"
    assert later_tasks[ids["line"]]["title"].endswith("（改）")
    # ... and the first evaluation did not move
    for name, content in before.items():
        assert fetch(client, auth, eid, name) == content, name
    assert fetch(client, auth, eid, "tasks.gpkg") == gpkg
    workbook = fetch(client, auth, eid, "report.xlsx")  # first drawn now, from the frozen snapshot only
    assert workbook == report_xlsx(json.loads(before["evaluation.json"]))
    package = zipfile.ZipFile(io.BytesIO(fetch(client, auth, eid, "package.zip")))
    assert package.read("数据/evaluation.json") == before["evaluation.json"]
    assert package.read("报告/评估报告.pdf") == before["report.pdf"]
    assert fetch(client, auth, eid, "package.zip") == fetch(client, auth, eid, "package.zip")


def test_two_evaluations_compare(first: dict, world: EvaluationWorld, client, auth) -> None:  # type: ignore[no-untyped-def]
    later = make(client, auth, world.plan, as_of="2018-10-15", kind="monthly")
    r = client.get("/evaluations/compare.json", params={"from": later["id"], "to": first["id"]}, headers=auth["viewer"])
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["before"]["id"], data["after"]["id"]) == (first["id"], later["id"])  # put in date order
    moved = {m["project_id"]: m for m in data["moved"]}
    ids = world.world.ids
    # line: 30 % when 主体完工 (80 %) was due by 09-30: behind from 1 October
    assert (moved[ids["line"]]["from"], moved[ids["line"]]["to"], moved[ids["line"]]["direction"]) == (
        "正常推进",
        "已开工进展缓慢",
        "退步",
    )
    assert data["summary"]["by_status"]["已开工进展缓慢"][2] >= 1


def test_the_files_are_a_pdf_a_workbook_and_a_geopackage(first: dict, client, auth, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pdf = fetch(client, auth, first["id"], "report.pdf")
    assert pdf.startswith(b"%PDF")
    gpkg = tmp_path / "tasks.gpkg"
    gpkg.write_bytes(fetch(client, auth, first["id"], "tasks.gpkg"))
    frame = pyogrio.read_dataframe(gpkg, layer="tasks")
    assert len(frame) == 5
    assert {"no", "title", "status", "percent", "behind_category"} <= set(frame.columns)
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.isna().sum() == 1  # nowhere has no geometry
    r = client.get(f"/evaluations/{first['id']}/report.pdf", headers=auth["viewer"])
    assert r.headers["content-type"] == "application/pdf"
    again = client.get(
        f"/evaluations/{first['id']}/report.pdf", headers=auth["viewer"] | {"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304


def test_the_service_cannot_change_or_remove_an_evaluation(first: dict, engine: Engine) -> None:
    for statement in (
        "UPDATE evaluation_files SET content = ''::bytea",
        "DELETE FROM evaluation_files",
        "UPDATE evaluations SET title = 'x'",
        "DELETE FROM evaluations",
    ):
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement))


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"kind": "weekly", "as_of": AS_OF}, 400, "kind"),
        ({"kind": "monthly", "as_of": "2018-13-01"}, 400, "as_of"),
        ({"kind": "monthly", "as_of": AS_OF, "plan": "no-such-plan"}, 400, "no-such-plan"),
    ],
)
def test_bad_requests_say_what_is_wrong(client, auth, body: dict, status: int, says: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/evaluations.json", json=body, headers=auth["coordinator"])
    assert r.status_code == status, r.text
    assert says in r.text


def test_only_coordinators_make_evaluations_and_unknown_ones_are_404(client, auth, first: dict) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/evaluations.json", json={"kind": "monthly", "as_of": AS_OF}, headers=auth["editor"])
    assert r.status_code == 403
    assert client.get("/evaluations/999999999.json", headers=auth["viewer"]).status_code == 404
    assert client.get(f"/evaluations/{first['id']}/secrets.txt", headers=auth["viewer"]).status_code in (400, 404)
    assert client.get("/evaluations.json").status_code == 401


def test_a_broken_rule_file_is_named_not_a_500() -> None:
    with pytest.raises(scoreboard.RuleError, match=r"parts\.completion\.weight"):
        scoreboard.parse_rule(
            b"name: x\nversion: 1\nparts:\n  completion: {weight: -1}\n  timeliness: {weight: 1}\n"
            b"  rectification: {weight: 1}\n  violations: {weight: 1}\n",
            "assessment.yaml",
        )
    with pytest.raises(scoreboard.RuleError, match="bonus"):
        scoreboard.parse_rule(b"name: x\nversion: 1\nparts:\n  bonus: {weight: 1}\n", "assessment.yaml")
