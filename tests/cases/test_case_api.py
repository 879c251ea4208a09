"""The case register over the API against PostGIS: the whole workflow with the right and the wrong roles,
skipped steps, missing reasons and evidence, two verifiers at once, withdrawing, and nothing deletable."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from tests.cases.conftest import CaseWorld, jpeg, pdf


def register(client, world: CaseWorld, who: str = "inspector", files=(), **fields: Any):  # type: ignore[no-untyped-def]
    body = {
        "kind": "巡查发现",
        "title": "绿心核心区新建厂房",
        "description": "巡查发现一处新建钢结构厂房",
        "position": {"lon": world.core[0], "lat": world.core[1], "accuracy_m": 8, "crs": "WGS84"},
        "rectification": "拆除违建，恢复植被",
        "severity": "严重",
    } | fields
    if files:
        return client.post(
            "/cases",
            data={"data": json.dumps(body, ensure_ascii=False, default=str)},
            files=[("files", f) for f in files],
            headers=world.headers[who],
        )
    return client.post("/cases", content=json.dumps(body, default=str), headers=world.headers[who] | _json())


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def step(client, world: CaseWorld, who: str, case: dict, action: str, files=(), etag: str | None = None, **fields):  # type: ignore[no-untyped-def]
    headers = dict(world.headers[who])
    headers["If-Match"] = etag if etag is not None else case["etag"]
    body = {"action": action} | fields
    if files:
        return client.post(
            f"/cases/{case['id']}/steps",
            data={"data": json.dumps(body, ensure_ascii=False, default=str)},
            files=[("files", f) for f in files],
            headers=headers,
        )
    return client.post(f"/cases/{case['id']}/steps", content=json.dumps(body, default=str), headers=headers | _json())


def test_the_whole_workflow_by_api(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    made = register(
        client, world, files=[("现场.jpg", jpeg(gps=world.core, taken="2026:03:01 10:20:30"), "image/jpeg")]
    )
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["number"].startswith(f"巡查〔{date.today().year}〕") and case["number"].endswith("号")
    assert case["status"] == "登记" and made.headers["ETag"] == case["etag"]
    assert case["found_by"] == world.names["inspector"]
    assert [e["action"] for e in case["events"]] == ["register"]
    assert case["events"][0]["files"][0]["filename"] == "现场.jpg"

    # the screening is stored: the point inside the core zone gets its zone and verdict
    assert case["screening_id"] and case["verdict"] == case["screening"]["verdict"]
    assert world.core_subzone in case["screening"]["subzones"]
    core = next(z for z in case["screening"]["zones"] if z["subzone"] == world.core_subzone)
    assert core["layer"] == "green_heart" and core["verdict"] == case["verdict"]
    assert case["screening"]["overlap_pct"] == 100.0  # a point: wholly inside
    with engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT params->>'name', result->>'verdict' FROM screenings WHERE id = :id"),
            {"id": case["screening_id"]},
        ).one()
    assert recorded[0].startswith(case["number"]) and recorded[1] == case["verdict"]

    # the editor of the responsible unit cannot start before it is assigned; a viewer cannot assign
    assert step(client, world, "editor", case, "start").status_code == 404  # not yet theirs to see
    assert step(client, world, "viewer", case, "assign").status_code == 404
    # skipping a step: straight to accept is 409
    skipped = step(client, world, "inspector2", case, "accept")
    assert skipped.status_code == 409, skipped.text
    # assigning needs a unit and a deadline; a deadline before the finding date is 400
    early = step(client, world, "inspector", case, "assign", responsible_unit=world.unit_a, deadline="2000-01-01")
    assert early.status_code == 400 and early.json()["parameter"] == "deadline"
    near_miss = step(
        client, world, "inspector", case, "assign", responsible_unit="株洲市石峰区人民正府", deadline="2099-01-01"
    )
    assert near_miss.status_code == 400 and near_miss.json()["parameter"] == "responsible_unit"
    deadline = (date.today() + timedelta(days=30)).isoformat()
    assigned = step(client, world, "inspector", case, "assign", responsible_unit=world.unit_a_name, deadline=deadline)
    assert assigned.status_code == 200, assigned.text
    case = assigned.json()
    assert case["status"] == "交办" and case["responsible_unit_id"] == world.unit_a

    # an editor of another unit sees nothing; the responsible unit's editor sees it and may start
    assert client.get(f"/cases/{case['id']}", headers=world.headers["other_editor"]).status_code == 404
    assert step(client, world, "other_editor", case, "start").status_code == 404
    seen = client.get(f"/cases/{case['id']}", headers=world.headers["editor"]).json()
    assert {a["action"] for a in seen["allowed_actions"]} == {"start", "submit"}
    started = step(client, world, "editor", case, "start")
    assert started.status_code == 200, started.text
    case = started.json()

    # a submission without evidence is 400; with a photo it passes
    bare = step(client, world, "editor", case, "submit", note="已拆除")
    assert bare.status_code == 400 and bare.json()["parameter"] == "files"
    submitted = step(client, world, "editor", case, "submit", note="已拆除", files=[("after.png", _png(), "image/png")])
    assert submitted.status_code == 200, submitted.text
    case = submitted.json()
    assert case["status"] == "申请销号"

    # the finder may not verify; a reject needs a reason
    assert step(client, world, "inspector", case, "reject", note="x").status_code == 403
    unreasoned = step(client, world, "inspector2", case, "reject")
    assert unreasoned.status_code == 400 and unreasoned.json()["parameter"] == "note"
    rejected = step(client, world, "inspector2", case, "reject", note="植被未恢复")
    assert rejected.status_code == 200 and rejected.json()["status"] == "整改中"
    case = rejected.json()
    case = step(client, world, "editor", case, "submit", files=[("report.pdf", pdf(), "application/pdf")]).json()
    closed = step(client, world, "inspector2", case, "accept", note="已复核")
    assert closed.status_code == 200, closed.text
    case = closed.json()
    assert case["status"] == "销号" and case["closed_at"]
    assert [e["action"] for e in case["events"]] == [
        "register",
        "assign",
        "start",
        "submit",
        "reject",
        "submit",
        "accept",
    ]
    assert case["allowed_actions"] == []
    with engine.connect() as conn:
        audited = (
            conn.execute(
                text("SELECT action FROM audit_log WHERE entity = 'case' AND entity_id = :id ORDER BY id"),
                {"id": str(case["id"])},
            )
            .scalars()
            .all()
        )
    assert audited == [
        "case.register",
        "case.assign",
        "case.start",
        "case.submit",
        "case.reject",
        "case.submit",
        "case.accept",
    ]


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def test_roles_that_may_not_register(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    for who in ("editor", "viewer"):
        refused = register(client, world, who=who)
        assert refused.status_code == 403, refused.text
    assert client.post("/cases", json={"kind": "巡查发现"}).status_code == 401


def test_steps_need_if_match(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world, responsible_unit=world.unit_a, deadline="2099-12-31").json()
    headers = world.headers["inspector"] | _json()
    missing = client.post(f"/cases/{case['id']}/steps", content=json.dumps({"action": "assign"}), headers=headers)
    assert missing.status_code == 428 and case["etag"] in missing.json()["detail"]
    wrong = step(client, world, "inspector", case, "assign", etag='"c1-v999"')
    assert wrong.status_code == 412
    assert client.get(f"/cases/{case['id']}", headers=world.headers["inspector"]).json()["status"] == "登记"


def test_two_verifiers_with_the_same_etag_one_wins(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world, responsible_unit=world.unit_a, deadline="2099-12-31").json()
    case = step(client, world, "inspector", case, "assign").json()
    case = step(client, world, "editor", case, "submit", files=[("a.jpg", jpeg(), "image/jpeg")]).json()
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda who_action: step(client, world, who_action[0], case, who_action[1], note="复核"),
                [("inspector2", "accept"), ("coordinator", "withdraw")],
            )
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 412], [a.text for a in answers]
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM case_events WHERE case_id = :id AND action IN ('accept', 'withdraw')"),
            {"id": case["id"]},
        ).scalar_one()
    assert events == 1


def test_two_inspectors_accepting_at_once(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world, responsible_unit=world.unit_a, deadline="2099-12-31").json()
    case = step(client, world, "inspector", case, "assign").json()
    case = step(client, world, "editor", case, "submit", files=[("a.jpg", jpeg(), "image/jpeg")]).json()
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: step(client, world, "inspector2", case, "accept"), range(2)))
    assert sorted(a.status_code for a in answers) == [200, 412]
    loser = next(a for a in answers if a.status_code == 412)
    assert loser.json()["current_etag"] != case["etag"]


def test_withdraw_with_a_reason(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world).json()
    assert step(client, world, "inspector", case, "withdraw").status_code == 400
    done = step(client, world, "coordinator", case, "withdraw", note="重复登记，见另一案件")
    assert done.status_code == 200 and done.json()["status"] == "撤销"
    assert done.json()["events"][-1]["note"] == "重复登记，见另一案件"
    again = step(client, world, "coordinator", done.json(), "withdraw", note="x")
    assert again.status_code == 409


def test_nothing_is_deletable(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world).json()
    for table, column in (("cases", "id"), ("case_events", "case_id"), ("case_files", "case_id")):
        with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": case["id"]})
    with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("UPDATE case_events SET note = 'x' WHERE case_id = :id"), {"id": case["id"]})
    assert client.delete(f"/cases/{case['id']}", headers=world.headers["inspector"]).status_code == 405


def test_a_deadline_before_the_finding_date_is_refused(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
    refused = register(client, world, found_on="2026-03-01", deadline="2026-02-01")
    assert refused.status_code == 400 and refused.json()["parameter"] == "deadline"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == before


def test_the_openapi_document_lists_the_case_routes(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/cases", "/cases/{case_id}", "/cases/{case_id}/steps", "/cases/{case_id}/files/{file_id}"} <= set(paths)
    assert "post" in paths["/cases"] and "put" in paths["/cases/{case_id}/place"]
