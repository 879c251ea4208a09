"""POST/GET /projects/{id}/progress: history kept, latest wins, validation names the field, roles enforced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shapely.geometry import LineString, Polygon
from sqlalchemy import Engine, text

from tests.progress.world import World, build_world, drop_world, geojson


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    built = build_world(engine, "api")
    yield built
    drop_world(engine, built)


def test_post_appends_and_latest_report_is_the_state(client, auth, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    pid = world.ids["point"]
    first = client.post(
        f"/projects/{pid}/progress",
        json={"period": "2018-03", "status": "推进中", "percent": 30, "investment_wan": 120.5, "note": "开工"},
        headers=auth["coordinator"],
    )
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/projects/{pid}/progress"
    assert first.json()["period"] == "2018-03-01"
    # a correction for the same month is appended, not written over
    again = client.post(
        f"/projects/{pid}/progress",
        json={"period": "2018年3月", "status": "in_progress", "percent": 35, "investment_wan": 130},
        headers=auth["coordinator"],
    )
    assert again.status_code == 201, again.text
    body = client.get(f"/projects/{pid}/progress", params={"as_of": "2018-03"}).json()
    assert [r["percent"] for r in body["reports"]] == [35.0, 30.0]
    assert body["state"]["percent"] == 35.0 and body["state"]["status"] == "正常推进"
    assert body["state"]["investment_wan"] == 130.0
    with engine.connect() as conn:
        audited = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE entity = 'progress_report' AND after->>'project_id' = :p"),
            {"p": str(pid)},
        ).scalar_one()
    assert audited == 2


def test_writes_need_an_editor(client, auth, world: World) -> None:  # type: ignore[no-untyped-def]
    report = {"period": "2018-04", "status": "推进中", "percent": 40}
    url = f"/projects/{world.ids['point']}/progress"
    assert client.post(url, json=report).status_code == 401
    assert client.post(url, json=report, headers=auth["viewer"]).status_code == 403
    assert client.post(url, json=report, headers=auth["admin"]).status_code == 201


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"period": "2018-13", "status": "推进中", "percent": 10}, "period", "month 13"),
        ({"period": "June", "status": "推进中", "percent": 10}, "period", "YYYY-MM"),
        ({"period": "2018-05", "status": "差不多", "percent": 10}, "status", "未启动"),
        ({"period": "2018-05", "status": "推进中", "percent": 150}, "percent", "between 0 and 100"),
        ({"period": "2018-05", "status": "推进中", "percent": 10, "investment_wan": -1}, "investment_wan", "greater"),
        ({"period": "2018-05", "status": "已完成", "percent": 60}, None, "needs percent 100"),
        ({"period": "2018-05", "status": "推进中", "percent": 10, "colour": "red"}, "colour", "Extra"),
        ({"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": {"type": "Point"}}, "done_geom", "Line"),
    ],
)
def test_bad_reports_are_400_naming_the_field(client, auth, world: World, body, field, words) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/projects/{world.ids['line']}/progress", json=body, headers=auth["coordinator"])
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert words in problem["detail"]
    if field:
        assert field in problem["detail"]


def test_unknown_project_is_404(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/projects/987654321/progress",
        json={"period": "2018-05", "status": "推进中", "percent": 1},
        headers=auth["editor"],
    )
    assert r.status_code == 404 and "987654321" in r.json()["detail"]
    assert client.get("/projects/987654321/progress").status_code == 404
    # ids beyond the integer column are a clear 400, never a database error
    huge = client.get("/projects/99999999999999999999/progress")
    assert huge.status_code == 400 and "project_id" in huge.json()["detail"]


@pytest.mark.parametrize(
    ("project", "geometry", "words"),
    [
        ("point", LineString([(1000, 1000), (1100, 1000)]), "only for linear and areal"),
        ("nowhere", LineString([(1000, 1000), (1100, 1000)]), "no location yet"),
        ("line", Polygon([(1000, 1990), (1500, 1990), (1500, 2010), (1000, 2010)]), "LineString"),
        ("line", LineString([(1000, 3000), (2000, 3000)]), "more than 200 m"),
        ("area", Polygon([(6000, 1000), (7000, 1500), (7000, 1000), (6000, 1500)]), "not a valid geometry"),
    ],
)
def test_bad_done_geometry_is_400(client, auth, world: World, project, geometry, words) -> None:  # type: ignore[no-untyped-def]
    body = {"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": geojson(geometry)}
    r = client.post(f"/projects/{world.ids[project]}/progress", json=body, headers=auth["coordinator"])
    assert r.status_code == 400, r.text
    assert words in r.json()["detail"] and r.json()["pointer"] == "/done_geom"


def test_garbage_geojson_is_400(client, auth, world: World) -> None:  # type: ignore[no-untyped-def]
    body = {
        "period": "2018-05",
        "status": "推进中",
        "percent": 10,
        "done_geom": {"type": "LineString", "coordinates": [[113.6, "north"]]},
    }
    r = client.post(f"/projects/{world.ids['line']}/progress", json=body, headers=auth["coordinator"])
    assert r.status_code == 400, r.text
    assert "done_geom" in r.json()["detail"]


def test_swapped_coordinates_are_named(client, auth, world: World) -> None:  # type: ignore[no-untyped-def]
    line = geojson(LineString([(1000, 2000), (1400, 2000)]))
    line["coordinates"] = [[lat, lon] for lon, lat in line["coordinates"]]  # latitude first: a common slip
    body = {"period": "2018-05", "status": "推进中", "percent": 10, "done_geom": line}
    r = client.post(f"/projects/{world.ids['line']}/progress", json=body, headers=auth["coordinator"])
    # the shared geometry guard (decision 0093): swapped axes are 422 everywhere, with the swapped reading
    assert r.status_code == 422, r.text
    assert "longitude, latitude" in r.json()["detail"] and r.json()["fault"] == "swapped_axes"


def test_rejected_reports_leave_no_history(client, world: World) -> None:  # type: ignore[no-untyped-def]
    # the rejected reports above left nothing behind for the line project
    body = client.get(f"/projects/{world.ids['line']}/progress").json()
    assert body["reports"] == []
    assert body["state"]["status"] == "应开工未开工" and body["state"]["delay_reason"] == "not_started"
