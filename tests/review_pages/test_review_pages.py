"""The review queue in the browser (issue 19): the list, the escaped highlight, accept / draw / no place through
the forms, CSRF and roles refused, and a later geocoding run leaving every decision as the person made it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.review_pages.conftest import ReviewWorld, review_world  # noqa: F401  (fixture)
from tests.web.conftest import csrf_of, signed_in_browser

POINT = '{"type": "Point", "coordinates": [113.13, 27.83]}'


@pytest.fixture(scope="module")
def editor(app: FastAPI, review_world: ReviewWorld) -> Iterator[TestClient]:  # noqa: F811
    yield from signed_in_browser(app, review_world.editor)


@pytest.fixture(scope="module")
def viewer(app: FastAPI, review_world: ReviewWorld) -> Iterator[TestClient]:  # noqa: F811
    yield from signed_in_browser(app, review_world.viewer)


def _state(engine: Engine, pid: int) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT location_status, precision, ST_AsText(geom), version,"
                    " (SELECT array_agg(coalesce(layer, '-') || ':' || coalesce(feature_key, '-') || ':' || method"
                    "  ORDER BY id) FROM project_locations WHERE project_id = p.id)"
                    " FROM projects p WHERE id = :id"
                ),
                {"id": pid},
            ).one()
        )


def test_the_queue_lists_the_plan_newest_first(editor: TestClient, review_world: ReviewWorld) -> None:  # noqa: F811
    page = editor.get("/review")
    assert page.status_code == 200, page.text
    assert "待定位任务" in page.text and f"复核测试计划{review_world.plan[:-5]}" in page.text
    ours = {f'href="/review/{pid}"' for pid in review_world.ids.values()}
    first = re.search(r'href="/review/\d+"', page.text)
    assert first and first.group(0) in ours  # the plan of 2031 before the bundled plans of 2010 and 2018
    filtered = editor.get("/review", params={"plan": review_world.plan})
    assert filtered.status_code == 200 and "4 项" in filtered.text
    for pid in review_world.ids.values():
        assert f'href="/review/{pid}"' in filtered.text
    assert "“" in filtered.text or "匹配把握不足" in filtered.text  # why each waits
    assert 'href="/review"' in filtered.text  # the nav link 待定位


def test_the_text_is_highlighted_and_escaped(editor: TestClient, review_world: ReviewWorld) -> None:  # noqa: F811
    pid = review_world.ids["script"]
    page = editor.get(f"/review/{pid}")
    assert page.status_code == 200, page.text
    assert "<script>alert(1)" not in page.text and "<b>整治" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;推进" in page.text and "&amp; 周边&lt;b&gt;整治" in page.text
    name = review_world.road["name"]
    assert f'<mark class="hl hl-match" title="道路：{name} · 精度 1">{name}</mark>' in page.text
    assert f'value="roads:{review_world.road["key"]}"' in page.text  # the candidate to accept
    geojson = editor.get(f"/review/{pid}/candidates.geojson")
    assert geojson.status_code == 200 and geojson.headers["content-type"].startswith("application/geo+json")
    features = geojson.json()["features"]
    assert features and features[0]["properties"]["n"] == 1 and features[0]["geometry"]["type"].endswith("LineString")


def test_accept_a_candidate(editor: TestClient, review_world: ReviewWorld, engine: Engine) -> None:  # noqa: F811
    pid = review_world.ids["accept"]
    page = editor.get(f"/review/{pid}")
    wrong = editor.post(
        f"/review/{pid}/accept", data={"csrf_token": csrf_of(page.text), "candidate": "roads:nope", "note": "看过了"}
    )
    assert wrong.status_code == 422 and "请在列表中勾选候选地点" in wrong.text and 'value="看过了"' in wrong.text
    assert _state(engine, pid)[0] == "review"
    value = f"roads:{review_world.road['key']}"
    saved = editor.post(f"/review/{pid}/accept", data={"csrf_token": csrf_of(page.text), "candidate": value})
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith("/review?plan=")
    status, precision, geom, _, locations = _state(engine, pid)
    assert (status, precision) == ("manual", 1) and geom.startswith(("LINESTRING", "MULTILINESTRING"))
    assert locations == [f"{value}:manual"]
    with engine.connect() as conn:
        note = conn.execute(
            text(
                "SELECT actor, after->>'note' FROM audit_log WHERE action = 'project.location' AND entity_id = :id"
                " ORDER BY id DESC LIMIT 1"
            ),
            {"id": str(pid)},
        ).one()
    assert note[0] == review_world.editor.name and note[1].startswith("复核采用候选")
    assert f'href="/review/{pid}"' not in editor.get("/review", params={"plan": review_world.plan}).text


def test_draw_a_point(editor: TestClient, review_world: ReviewWorld, engine: Engine) -> None:  # noqa: F811
    pid = review_world.ids["draw"]
    page = editor.get(f"/review/{pid}")
    token = csrf_of(page.text)
    bad = editor.post(f"/review/{pid}/draw", data={"csrf_token": token, "geometry": "{bad", "note": "沿线"})
    assert bad.status_code == 422 and "绘制的图形无法读取" in bad.text and 'value="沿线"' in bad.text
    outside = '{"type": "Point", "coordinates": [0, 0]}'
    far = editor.post(f"/review/{pid}/draw", data={"csrf_token": token, "geometry": outside, "precision": "2"})
    assert far.status_code == 422 and "geometry" in far.text  # the guard's reason, beside the form
    assert "&#34;coordinates&#34;: [0, 0]" in far.text and '<option value="2" selected>' in far.text  # as typed
    assert _state(engine, pid)[0] == "review"
    saved = editor.post(f"/review/{pid}/draw", data={"csrf_token": token, "geometry": POINT, "note": "现场核实"})
    assert saved.status_code == 303, saved.text
    status, precision, geom, _, locations = _state(engine, pid)
    assert (status, precision, geom) == ("manual", 1, "POINT(113.13 27.83)") and locations == ["-:-:manual"]


def test_no_place(editor: TestClient, review_world: ReviewWorld, engine: Engine) -> None:  # noqa: F811
    pid = review_world.ids["none"]
    page = editor.get(f"/review/{pid}")
    saved = editor.post(f"/review/{pid}/no-place", data={"csrf_token": csrf_of(page.text), "note": "制度建设"})
    assert saved.status_code == 303, saved.text
    status, precision, geom, _, locations = _state(engine, pid)
    assert (status, precision) == ("manual", 8) and geom and locations[0].startswith("sites:")
    with engine.connect() as conn:
        note = conn.execute(
            text(
                "SELECT after->>'note' FROM audit_log WHERE action = 'project.location' AND entity_id = :id"
                " ORDER BY id DESC LIMIT 1"
            ),
            {"id": str(pid)},
        ).scalar_one()
    assert note.startswith("不指向具体地点：牵头单位（市住建局）") and note.endswith("制度建设")


def test_csrf_refused(editor: TestClient, review_world: ReviewWorld, engine: Engine) -> None:  # noqa: F811
    pid = review_world.ids["script"]
    before = _state(engine, pid)
    for action, data in (("accept", {"candidate": f"roads:{review_world.road['key']}"}), ("no-place", {})):
        r = editor.post(f"/review/{pid}/{action}", data=data)
        assert r.status_code == 403
        r = editor.post(f"/review/{pid}/{action}", data={**data, "csrf_token": "forged"})
        assert r.status_code == 403
    assert _state(engine, pid) == before


def test_viewer_refused(viewer: TestClient, review_world: ReviewWorld, engine: Engine) -> None:  # noqa: F811
    pid = review_world.ids["script"]
    assert viewer.get("/review", headers={"Accept": "text/html"}).status_code == 403
    assert viewer.get(f"/review/{pid}/candidates.geojson").status_code == 403
    me = viewer.get("/me")
    assert 'href="/review"' not in me.text  # no nav link for a viewer
    before = _state(engine, pid)
    r = viewer.post(f"/review/{pid}/draw", data={"csrf_token": csrf_of(me.text), "geometry": POINT})
    assert r.status_code == 403 and _state(engine, pid) == before


def test_a_geocoding_run_keeps_every_decision(
    editor: TestClient,  # the decisions of the tests above are made by this browser
    review_world: ReviewWorld,  # noqa: F811
    engine: Engine,
) -> None:
    from service.database import session_scope
    from service.geocoding.usecases import geocode_projects

    decided = [review_world.ids[k] for k in ("accept", "draw", "none")]
    before = {pid: _state(engine, pid) for pid in decided}
    assert all(state[0] == "manual" for state in before.values())
    with session_scope() as session:
        summary = geocode_projects(session, plan=review_world.plan, everything=True, actor="test")
        session.commit()
    assert summary.projects == 1  # only the one still in review is geocoded again
    assert {pid: _state(engine, pid) for pid in decided} == before
