"""The audit log: one entry per write with who, what, before and after; GET /audit filters; append-only in SQL.

Also: a progress import cut short by a stopped database leaves neither reports nor audit entries nor
version bumps, and ``xiangmap progress import`` says so in one line (exit 3) instead of a traceback.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from service.pgcluster import Cluster
from tests.trust.test_faults import database_stops_at

PLAN = "t8-audit"
PLANT = "审计测试污水厂"


@pytest.fixture(scope="module")
def project_ids(engine: Engine) -> Iterator[list[int]]:
    """Four projects of a throwaway plan (removed afterwards with their reports; audit entries stay)."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:id, '审计测试计划', 2018, '测试市')"), {"id": PLAN}
        )
        ids = [
            conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, year, geom,"
                    " precision, location_status) VALUES (:key, :plan, '审计测试', '审计测试', '两型改革', '{}', 2018,"
                    " ST_SetSRID(ST_MakePoint(113.6, 24.0), 4326), 1, 'manual') RETURNING id"
                ),
                {"key": f"{PLAN}/{n}", "plan": PLAN},
            ).scalar_one()
            for n in range(4)
        ]
    yield ids
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": PLAN})
        conn.execute(text("DELETE FROM sewage_plants WHERE name = :n"), {"n": PLANT})


def _marker(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one())


def _entries_since(engine: Engine, marker: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_log"
                " WHERE id > :m ORDER BY id"
            ),
            {"m": marker},
        ).mappings()
        return [dict(r) for r in rows]


def test_location_change_leaves_one_entry(client, auth, engine: Engine, project_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    pid = project_ids[0]
    marker = _marker(engine)
    place = {"geometry": {"type": "Point", "coordinates": [113.62, 24.01]}, "precision": 2, "note": "现场核实"}
    assert client.put(f"/projects/{pid}/location", json=place, headers=auth["editor"]).status_code == 200
    [entry] = _entries_since(engine, marker)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "test-editor",
        "project.location",
        "project",
        str(pid),
    )
    assert entry["at"] is not None
    assert entry["before"]["geom"] == "POINT(113.6 24)" and entry["after"]["geom"] == "POINT(113.62 24.01)"
    assert entry["before"]["precision"] == 1 and entry["after"]["precision"] == 2
    assert entry["after"]["location_status"] == "manual" and entry["after"]["note"] == "现场核实"


def test_progress_report_leaves_one_entry(client, auth, engine: Engine, project_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    pid = project_ids[1]
    url = f"/projects/{pid}/progress"
    first = {"period": "2018-03", "status": "推进中", "percent": 30, "note": "开工"}
    assert client.post(url, json=first, headers=auth["coordinator"]).status_code == 201
    marker = _marker(engine)
    second = {"period": "2018-04", "status": "推进中", "percent": 45, "investment_wan": 80}
    response = client.post(url, json=second, headers=auth["coordinator"])
    assert response.status_code == 201, response.text
    [entry] = _entries_since(engine, marker)
    saved = response.json()
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "test-coordinator",
        "progress.report",
        "progress_report",
        str(saved["id"]),
    )
    assert entry["before"]["latest_report"] | {"id": None} == {
        "id": None,
        "period": "2018-03",
        "status": "推进中",
        "percent": 30.0,
    }
    assert entry["after"]["version"] == entry["before"]["version"] + 1 == saved["version"]
    assert entry["after"]["project_id"] == pid and entry["after"]["percent"] == 45
    assert entry["after"]["investment_wan"] == 80 and entry["after"]["period"] == "2018-04-01"


def test_layer_upload_leaves_one_entry(client, auth, engine: Engine, project_ids: list[int], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    feature = {
        "type": "Feature",
        "properties": {"name": PLANT},
        "geometry": {"type": "Point", "coordinates": [113.63, 24.02]},
    }
    upload = json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode()
    marker = _marker(engine)
    response = client.post(
        "/layers/sewage_plants/uploads",
        files={"file": ("plants.geojson", upload, "application/geo+json")},
        headers=auth["editor"],
    )
    assert response.status_code == 201, response.text
    [entry] = _entries_since(engine, marker)
    assert (entry["actor"], entry["action"], entry["entity"]) == ("test-editor", "load", "layer:sewage_plants")
    assert entry["entity_id"] and entry["before"] is None
    assert entry["after"]["inserted"] == 1 and entry["after"]["rows"] == 1
    assert entry["after"]["layer"] == "sewage_plants" and entry["after"]["file_name"] == "plants.geojson"


def test_user_add_and_revoke_leave_one_entry_each(engine: Engine) -> None:
    from service.cli.main import app

    name = f"audit-{uuid.uuid4().hex[:8]}"
    marker = _marker(engine)
    added = CliRunner().invoke(app, ["users", "add", name, "--role", "viewer"])
    assert added.exit_code == 0, added.output
    [entry] = _entries_since(engine, marker)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == ("cli", "user.add", "user", name)
    assert entry["before"] is None
    assert entry["after"]["name"] == name and entry["after"]["role"] == "viewer" and entry["after"]["revoked"] is False
    assert added.output.strip() not in json.dumps(entry["after"])  # the token is never logged

    marker = _marker(engine)
    revoked = CliRunner().invoke(app, ["users", "revoke", name])
    assert revoked.exit_code == 0, revoked.output
    [entry] = _entries_since(engine, marker)
    assert (entry["actor"], entry["action"], entry["entity"], entry["entity_id"]) == (
        "cli",
        "user.revoke",
        "user",
        name,
    )


def test_user_revoke_records_before_and_after(engine: Engine) -> None:
    from service.cli.main import app

    name = f"audit-{uuid.uuid4().hex[:8]}"
    assert CliRunner().invoke(app, ["users", "add", name, "--role", "editor"]).exit_code == 0
    marker = _marker(engine)
    assert CliRunner().invoke(app, ["users", "revoke", name]).exit_code == 0
    [entry] = _entries_since(engine, marker)
    assert entry["before"]["revoked"] is False and entry["after"]["revoked"] is True
    assert entry["before"]["role"] == entry["after"]["role"] == "editor"
    assert "token" not in str(entry)


def test_get_audit_filters_and_needs_an_admin(client, auth, engine: Engine, project_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    pid = project_ids[2]
    for n in range(3):
        report = {"period": f"2018-0{n + 1}", "status": "推进中", "percent": 10 * (n + 1)}
        assert client.post(f"/projects/{pid}/progress", json=report, headers=auth["coordinator"]).status_code == 201
    place = {"geometry": {"type": "Point", "coordinates": [113.64, 24.03]}}
    assert client.put(f"/projects/{pid}/location", json=place, headers=auth["editor"]).status_code == 200

    assert client.get("/audit").status_code == 401
    assert client.get("/audit", headers=auth["editor"]).status_code == 403
    by_project = client.get("/audit", params={"entity": "project", "entity_id": str(pid)}, headers=auth["admin"])
    assert by_project.status_code == 200
    entries = by_project.json()["entries"]
    assert [(e["action"], e["entity_id"]) for e in entries] == [("project.location", str(pid))]
    reports = client.get("/audit", params={"entity": "progress_report", "limit": 3}, headers=auth["admin"]).json()
    assert [e["after"]["percent"] for e in reports["entries"]] == [30, 20, 10]  # newest first
    assert all(e["entity"] == "progress_report" and e["actor"] == "test-coordinator" for e in reports["entries"])
    paged = client.get("/audit", params={"entity": "progress_report", "limit": 1, "offset": 1}, headers=auth["admin"])
    assert [e["id"] for e in paged.json()["entries"]] == [reports["entries"][1]["id"]]
    one = reports["entries"][0]
    exact = client.get(
        "/audit", params={"entity": "progress_report", "entity_id": one["entity_id"]}, headers=auth["admin"]
    ).json()["entries"]
    assert [e["id"] for e in exact] == [one["id"]]
    assert client.get("/audit", params={"limit": 0}, headers=auth["admin"]).status_code in (400, 422)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else' WHERE id = (SELECT max(id) FROM audit_log)",
        "UPDATE audit_log SET after = NULL",
        "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_audit_log_is_append_only_in_the_database(engine: Engine, owner_engine: Engine, statement: str) -> None:
    """The trigger holds even for the owner (the app role is not even granted these: tests/security)."""
    engine = owner_engine  # migrated and set up by the ``engine`` fixture
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), md5(string_agg(a::text, ',' ORDER BY id)) FROM audit_log a")).one()
    assert before[0] > 0
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    with engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), md5(string_agg(a::text, ',' ORDER BY id)) FROM audit_log a")).one()
    assert tuple(after) == tuple(before)


# --- a progress import cut short ---


@pytest.fixture
def cluster(pg_cluster: Cluster | None) -> Cluster:
    if pg_cluster is None:
        pytest.skip("TEST_DATABASE_URL points at a server this run does not own, so it cannot be stopped")
    return pg_cluster


def _state(engine: Engine, ids: list[int]) -> tuple[Any, ...]:
    with engine.connect() as conn:
        reports = conn.execute(text("SELECT count(*) FROM progress_reports")).scalar_one()
        audit = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        versions = conn.execute(
            text("SELECT array_agg(version ORDER BY id) FROM projects WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalar_one()
    return reports, audit, tuple(versions)


def test_progress_import_cli_when_the_database_stops(
    engine: Engine, cluster: Cluster, project_ids: list[int], tmp_path: Path
) -> None:
    from service.cli.main import app

    sheet = tmp_path / "progress.csv"
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["project_key", "period", "status", "percent", "note"])
        for n in range(4):
            writer.writerow([f"{PLAN}/{n}", "2026-09", "推进中", "50", "断库导入"])
    before = _state(engine, project_ids)

    with database_stops_at(engine, cluster, "INSERT INTO progress_reports", nth=3) as stopped:
        result = CliRunner().invoke(app, ["progress", "import", str(sheet), "--actor", "trust-test"])
        assert stopped.is_set(), "the import never reached its third report"
    assert result.exit_code == 3, result.output
    assert "database is not answering" in result.output and "nothing imported" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert _state(engine, project_ids) == before  # no report, no audit entry, no version bump half-written

    again = CliRunner().invoke(app, ["progress", "import", str(sheet), "--actor", "trust-test"])
    assert again.exit_code == 0, again.output
    assert "4 reports imported" in again.output
    reports, audit, versions = _state(engine, project_ids)
    assert (reports, audit) == (before[0] + 4, before[1] + 4)
    assert versions == tuple(v + 1 for v in before[2])  # every imported report moves its project's ETag on
