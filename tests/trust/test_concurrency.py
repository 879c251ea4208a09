"""Optimistic concurrency: project ETags, If-Match on location and progress writes, and real races.

The races run two real HTTP clients against the live uvicorn server.  In the forced rounds a third
connection holds the project's row lock until both requests are seen waiting for it in
``pg_stat_activity``: both have then read the project and passed every check done outside the
database, which is exactly the window a check-then-write in Python would lose.  In the free rounds a
``threading.Barrier`` releases both at once and the scheduler decides.  Either way exactly one write
wins and the other gets 412 with nothing written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from service.common.concurrency import parse_if_match, project_etag
from service.errors import Problem

PLAN = "t8-concurrency"
ROUNDS = 3


@dataclass
class Projects:
    progress: int
    location: int
    mixed: int


@pytest.fixture(scope="module")
def projects(engine: Engine) -> Iterator[Projects]:
    """Three projects of a throwaway plan (removed afterwards, with their reports and locations)."""
    ids = {}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO plans (id, title, year, city) VALUES (:id, '并发测试计划', 2018, '测试市')"), {"id": PLAN}
        )
        for name in ("progress", "location", "mixed"):
            ids[name] = conn.execute(
                text(
                    "INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, year, geom,"
                    " precision, location_status) VALUES (:key, :plan, :title, '并发测试', '两型改革', '{}', 2018,"
                    " ST_SetSRID(ST_MakePoint(113.6, 24.0), 4326), 1, 'manual') RETURNING id"
                ),
                {"key": f"{PLAN}/{name}", "plan": PLAN, "title": f"并发测试 {name}"},
            ).scalar_one()
    yield Projects(**ids)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans WHERE id = :id"), {"id": PLAN})


def _version(engine: Engine, project_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM projects WHERE id = :id"), {"id": project_id}).scalar_one())


def _reports(engine: Engine, project_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT note FROM progress_reports WHERE project_id = :id ORDER BY id"), {"id": project_id}
            ).scalars()
        )


def _audit_since(engine: Engine, marker: int, project_id: int) -> list[dict[str, Any]]:
    """Audit entries after ``marker`` about the project (its rejections) or its progress reports."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT actor, action, entity, entity_id, before, after FROM audit_log WHERE id > :m"
                " AND ((entity = 'project' AND entity_id = :pid) OR after->>'project_id' = :pid) ORDER BY id"
            ),
            {"m": marker, "pid": str(project_id)},
        ).mappings()
        return [dict(r) for r in rows]


def _audit_marker(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one())


# --- If-Match parsing (RFC 9110 §13.1.1) ---


def test_if_match_parsing() -> None:
    assert parse_if_match(None, 7) is None
    assert parse_if_match("*", 7).any_version  # type: ignore[union-attr]
    several = parse_if_match(' "p7-v3" , "p7-v5","p8-v9", "x,y" ', 7)
    assert several is not None and several.versions == {3, 5} and not several.any_version
    assert several.allows(5) and not several.allows(4) and not several.allows(9)
    weak = parse_if_match('W/"p7-v3"', 7)
    assert weak is not None and weak.weak_only and not weak.allows(3)  # weak tags never match If-Match
    mixed = parse_if_match('W/"p7-v3", "p7-v4"', 7)
    assert mixed is not None and not mixed.weak_only and mixed.versions == {4}
    assert project_etag(7, 3) == '"p7-v3"'
    for bad in ("p7-v3", '"p7-v3', '"p7-v3" junk', "", "W/p7", '"a" "b"'):
        with pytest.raises(Problem) as caught:
            parse_if_match(bad, 7)
        assert caught.value.status == 400 and "If-Match" in caught.value.detail


# --- sequential behaviour through the API ---


def test_progress_carries_the_project_etag_and_honours_if_match(
    client, auth, engine: Engine, projects: Projects
) -> None:  # type: ignore[no-untyped-def]
    pid = projects.mixed
    url = f"/projects/{pid}/progress"
    read = client.get(url)
    etag = read.headers["etag"]
    assert etag == client.get(f"/projects/{pid}").headers["etag"] == project_etag(pid, _version(engine, pid))
    assert read.json()["project"]["version"] == _version(engine, pid)

    report = {"period": "2018-05", "status": "推进中", "percent": 20, "note": "first"}
    first = client.post(url, json=report, headers={**auth["coordinator"], "If-Match": etag})
    assert first.status_code == 201, first.text
    new_etag = first.headers["etag"]
    assert (
        new_etag != etag
        and new_etag == client.get(url).headers["etag"] == client.get(f"/projects/{pid}").headers["etag"]
    )

    marker = _audit_marker(engine)
    stale = client.post(url, json=report | {"note": "stale"}, headers={**auth["coordinator"], "If-Match": etag})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    problem = stale.json()
    assert problem["current_etag"] == new_etag and new_etag in problem["detail"] and etag in problem["detail"]
    assert stale.headers["etag"] == new_etag
    assert _reports(engine, pid) == ["first"]  # nothing written
    assert client.get(url).headers["etag"] == new_etag  # the version did not move
    [rejected] = _audit_since(engine, marker, pid)
    assert rejected["action"] == "progress.report.rejected" and rejected["actor"] == "test-coordinator"
    assert rejected["before"] == {"etag": new_etag} and rejected["after"]["if_match"] == etag
    assert rejected["after"]["attempt"]["note"] == "stale"

    weak = client.post(url, json=report, headers={**auth["coordinator"], "If-Match": f"W/{new_etag}"})
    assert weak.status_code == 412 and "weak" in weak.json()["detail"]
    malformed = client.post(url, json=report, headers={**auth["coordinator"], "If-Match": "p1-v1"})
    assert malformed.status_code == 400 and "If-Match" in malformed.json()["detail"]
    several = client.post(
        url, json=report | {"note": "several"}, headers={**auth["coordinator"], "If-Match": f'"p{pid}-v0", {new_etag}'}
    )
    assert several.status_code == 201, several.text
    star = client.post(url, json=report | {"note": "star"}, headers={**auth["coordinator"], "If-Match": "*"})
    assert star.status_code == 201, star.text
    unconditional = client.post(url, json=report | {"note": "unconditional"}, headers=auth["coordinator"])
    assert unconditional.status_code == 201, unconditional.text  # documented: no If-Match, no check
    assert _reports(engine, pid) == ["first", "several", "star", "unconditional"]

    # one ETag for the whole project: a location change makes a progress ETag stale, and back
    current = client.get(url).headers["etag"]
    place = {"geometry": {"type": "Point", "coordinates": [113.61, 24.01]}, "precision": 2}
    moved = client.put(f"/projects/{pid}/location", json=place, headers={**auth["editor"], "If-Match": current})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] != current and moved.headers["etag"] == client.get(url).headers["etag"]
    late = client.post(url, json=report, headers={**auth["coordinator"], "If-Match": current})
    assert late.status_code == 412
    stale_place = client.put(f"/projects/{pid}/location", json=place, headers={**auth["editor"], "If-Match": current})
    assert stale_place.status_code == 412 and stale_place.json()["current_etag"] == moved.headers["etag"]
    missing = client.post("/projects/2147483600/progress", json=report, headers={**auth["editor"], "If-Match": "*"})
    assert missing.status_code == 404


# --- real races through uvicorn ---


def _waiting_on_lock(engine: Engine, count: int, threads: list[threading.Thread]) -> None:
    """Block until ``count`` other backends wait for a lock (the requests reached the database)."""
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while True:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()  # pg_stat_activity is a snapshot per transaction: take a fresh one each time
            if waiting >= count:
                return
            if not all(thread.is_alive() for thread in threads):
                raise AssertionError("a request finished while the project's row was held")
            if time.monotonic() > deadline:
                activity = conn.execute(
                    text("SELECT state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity")
                ).all()
                raise AssertionError(f"only {waiting} of {count} requests reached the project's row lock: {activity}")
            time.sleep(0.02)


def _race(
    engine: Engine, project_id: int, send: Callable[[httpx.Client, int], httpx.Response], *, forced: bool
) -> list[httpx.Response]:
    """Send two requests at once (``send(client, n)``); when ``forced``, hold the row until both wait for it."""
    barrier = threading.Barrier(2)
    responses: list[httpx.Response | None] = [None, None]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with httpx.Client(timeout=60) as http:
                barrier.wait()
                responses[n] = send(http, n)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    if forced:
        with engine.connect() as holder:
            holder.execute(text("SELECT 1 FROM projects WHERE id = :id FOR UPDATE"), {"id": project_id})
            for thread in threads:
                thread.start()
            try:
                _waiting_on_lock(engine, 2, threads)
            except AssertionError as exc:
                holder.rollback()
                for thread in threads:
                    thread.join(timeout=60)
                raise AssertionError(f"{exc}: {responses} {errors}") from None
            holder.commit()  # changes nothing: the two requests now meet at the version check
    else:
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


@pytest.mark.parametrize("forced", [True, False], ids=["row-held-until-both-wait", "barrier-only"])
def test_two_editors_report_progress_at_once(
    live_server: str, auth, engine: Engine, projects: Projects, forced: bool
) -> None:  # type: ignore[no-untyped-def]
    pid = projects.progress
    for round_ in range(ROUNDS):
        version = _version(engine, pid)
        etag = project_etag(pid, version)
        before_notes = _reports(engine, pid)
        marker = _audit_marker(engine)
        tag = f"{forced}-{round_}"

        def send(http: httpx.Client, n: int, tag: str = tag, etag: str = etag) -> httpx.Response:
            body = {"period": "2018-07", "status": "推进中", "percent": 40 + n, "note": f"editor{n}-{tag}"}
            headers = {**auth["coordinator"], "If-Match": etag}
            return http.post(f"{live_server}/projects/{pid}/progress", json=body, headers=headers)

        responses = _race(engine, pid, send, forced=forced)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 412], [r.text for r in responses]
        winner = next(n for n, r in enumerate(responses) if r.status_code == 201)
        loser = 1 - winner
        assert responses[loser].json()["current_etag"] == project_etag(pid, version + 1)
        assert responses[winner].headers["etag"] == project_etag(pid, version + 1)
        assert _version(engine, pid) == version + 1
        # the history holds the winner's report only
        assert _reports(engine, pid) == [*before_notes, f"editor{winner}-{tag}"]
        # the audit log holds both outcomes: the winner's write with before/after, the loser's refusal
        entries = {e["action"]: e for e in _audit_since(engine, marker, pid)}
        assert set(entries) == {"progress.report", "progress.report.rejected"}
        written = entries["progress.report"]
        assert written["entity"] == "progress_report" and written["actor"] == "test-coordinator"
        assert written["before"]["version"] == version and written["after"]["version"] == version + 1
        assert written["after"]["note"] == f"editor{winner}-{tag}" and written["after"]["percent"] == 40 + winner
        refused = entries["progress.report.rejected"]
        assert refused["entity_id"] == str(pid) and refused["after"]["if_match"] == etag
        assert refused["after"]["attempt"]["note"] == f"editor{loser}-{tag}"
        assert refused["before"] == {"etag": project_etag(pid, version + 1)}


@pytest.mark.parametrize("forced", [True, False], ids=["row-held-until-both-wait", "barrier-only"])
def test_two_editors_place_a_project_at_once(
    live_server: str, auth, engine: Engine, projects: Projects, forced: bool
) -> None:  # type: ignore[no-untyped-def]
    pid = projects.location
    for round_ in range(ROUNDS):
        version = _version(engine, pid)
        etag = project_etag(pid, version)
        marker = _audit_marker(engine)
        step = round(0.01 * (round_ + 1), 6)
        spots = [[round(113.6 + step, 6), 24.0], [113.6, round(24.0 + step, 6)]]

        def send(http: httpx.Client, n: int, spots: list[list[float]] = spots, etag: str = etag) -> httpx.Response:
            body = {"geometry": {"type": "Point", "coordinates": spots[n]}, "precision": 2, "note": f"editor{n}"}
            headers = {**auth["editor"], "If-Match": etag}
            return http.put(f"{live_server}/projects/{pid}/location", json=body, headers=headers)

        responses = _race(engine, pid, send, forced=forced)
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        winner = next(n for n, r in enumerate(responses) if r.status_code == 200)
        loser = 1 - winner
        assert _version(engine, pid) == version + 1
        assert (
            responses[loser].json()["current_etag"]
            == responses[winner].headers["etag"]
            == project_etag(pid, version + 1)
        )
        with engine.connect() as conn:
            where = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM projects WHERE id = :id"), {"id": pid}).one()
        assert [round(c, 6) for c in where] == spots[winner]  # the winner's location, not a mix
        entries = {e["action"]: e for e in _audit_since(engine, marker, pid)}
        assert set(entries) == {"project.location", "project.location.rejected"}
        written = entries["project.location"]
        assert written["before"]["geom"] != written["after"]["geom"] and written["after"]["note"] == f"editor{winner}"
        assert f"{spots[winner][0]:g}" in written["after"]["geom"]
        assert entries["project.location.rejected"]["after"]["attempt"]["note"] == f"editor{loser}"
