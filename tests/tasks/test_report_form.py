"""POST /tasks/{id}/report: values read as people write them, errors next to their field with what was typed kept
(and nothing stored), the drawn or uploaded built part stored as the report's done_geom, behind_reason kept."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from tests.progress.world import geojson, wgs
from tests.tasks.conftest import TaskWorld, done_part, post_report


def reports_of(engine: Engine, task_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, to_char(period, 'YYYY-MM') AS period, status, percent::float AS percent,"
                " investment_wan::float AS investment_wan, note, behind_reason, reported_by,"
                " ST_Length(ST_Transform(done_geom, 4547)) AS done_m, ST_GeometryType(done_geom) AS done_type"
                " FROM progress_reports WHERE project_id = :p ORDER BY id"
            ),
            {"p": task_id},
        ).mappings()
        return [dict(r) for r in rows]


@pytest.fixture
def fresh(engine: Engine, owner_engine: Engine, world: TaskWorld) -> Iterator[int]:
    """The area task without the reports a test adds (the road keeps its March report)."""
    yield world.ids["area"]
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p"), {"p": world.ids["road"]})
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p"), {"p": world.ids["area"]})
    from service.database import session_scope

    with session_scope() as session:  # the road's March report again, as the world had it
        session.execute(
            text(
                "INSERT INTO progress_reports (project_id, period, status, percent, note, reported_by)"
                " VALUES (:p, '2018-03-01', '推进中', 20, :note, 'test-coordinator')"
            ),
            {"p": world.ids["road"], "note": "<script>alert(1)</script>清雨路改造"},
        )


def field_error(html: str, name: str) -> str:
    found = re.findall(rf'<p class="field-error" id="e-{name}-\d+" role="alert">([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return " ".join(found)


def test_the_form_opens_on_this_month_and_the_latest_report(editor_browser: TestClient, world: TaskWorld) -> None:
    r = editor_browser.get(f"/tasks/{world.ids['road']}/report")
    assert r.status_code == 200
    assert f'name="period" type="month" value="{date.today():%Y-%m}"' in r.text
    assert (
        '<option value="推进中" selected>' in r.text
        and 'name="percent" type="text" inputmode="decimal" value="20"' in r.text
    )
    assert 'enctype="multipart/form-data"' in r.text and 'name="csrf_token"' in r.text
    assert 'data-kind="linear"' in r.text and "vendor/leaflet-draw/leaflet.draw.js" in r.text
    assert "<script>alert" not in r.text


@pytest.mark.parametrize("written", ["80%", "80", "0.8"])
def test_percent_as_people_write_it(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int, written: str
) -> None:
    r = post_report(
        editor_browser, fresh, {"period": "2018-06", "status": "推进中", "percent": written, "note": "按计划推进"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{fresh}#reports", r.text
    assert reports_of(engine, fresh)[-1]["percent"] == 80.0


def test_a_saved_report_is_shown_with_who_reported(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    r = post_report(
        editor_browser,
        fresh,
        {
            "period": "2018-06",
            "status": "滞后",
            "percent": "30",
            "investment_wan": "1,250.5",
            "note": "完成清淤",
            "behind_reason": "征地拆迁未完成",
        },
    )
    assert r.status_code == 303, r.text
    saved = reports_of(engine, fresh)[-1]
    assert saved | {"id": 0} == saved | {
        "id": 0,
        "period": "2018-06",
        "status": "滞后",
        "percent": 30.0,
        "investment_wan": 1250.5,
        "note": "完成清淤",
        "behind_reason": "征地拆迁未完成",
        "reported_by": world.editor.name,
    }
    page = editor_browser.get(r.headers["location"].split("#")[0])
    assert "已保存 2018-06 的进度报告" in page.text  # the flash message
    history = page.text.split('id="reports"')[1]
    assert "征地拆迁未完成" in history and world.editor.name in history and "1250.5" in history


def test_errors_sit_next_to_their_field_and_keep_what_was_typed(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    typed = {
        "period": "2018-06",
        "status": "推进中",
        "percent": "八成",
        "investment_wan": "很多",
        "note": "说明 <b>保留</b>",
        "behind_reason": "资金未到位",
    }
    r = post_report(editor_browser, fresh, typed)
    assert r.status_code == 422
    assert "完成比例“八成”不是数字" in field_error(r.text, "percent")
    assert "累计完成投资“很多”不是数字" in field_error(r.text, "investment_wan")
    assert 'aria-invalid="true" aria-describedby="e-percent-1"' in r.text
    assert 'value="八成"' in r.text and 'value="很多"' in r.text
    assert ">说明 &lt;b&gt;保留&lt;/b&gt;</textarea>" in r.text and ">资金未到位</textarea>" in r.text
    assert reports_of(engine, fresh) == []


def test_status_and_percent_must_agree(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    r = post_report(editor_browser, fresh, {"period": "2018-06", "status": "已完成", "percent": "50"})
    assert r.status_code == 422
    assert "状态为已完成时完成比例须为 100%" in field_error(r.text, "status")
    assert '<option value="已完成" selected>' in r.text
    assert reports_of(engine, fresh) == []


def test_a_missing_month_and_status_are_named(editor_browser: TestClient, world: TaskWorld, fresh: int) -> None:
    r = post_report(editor_browser, fresh, {"period": "", "status": "", "percent": ""})
    assert r.status_code == 422
    assert "请选择填报月份" in field_error(r.text, "period")
    assert "请填写完成比例" in field_error(r.text, "percent")


def test_the_drawn_part_is_stored_as_done_geom(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    road = world.ids["road"]
    drawn = {"type": "MultiLineString", "coordinates": [done_part(1200)["coordinates"]]}
    fields = {"period": "2018-06", "status": "推进中", "percent": "60", "note": "已建 1.2 公里"}
    r = post_report(editor_browser, road, fields | {"done_geom": json.dumps(drawn)})
    assert r.status_code == 303, r.text
    saved = reports_of(engine, road)[-1]
    assert saved["done_type"] == "ST_MultiLineString" and saved["done_m"] == pytest.approx(1200, rel=0.01)
    features = editor_browser.get(f"/tasks/{road}/map.geojson").json()["features"]
    assert [f["properties"] for f in features] == [
        {"role": "planned", "period": None},
        {"role": "done", "period": "2018-06"},
    ]


def test_a_drawn_part_off_the_task_is_refused_next_to_the_map(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    road = world.ids["road"]
    far = geojson(LineString([(0, 5000), (800, 5000)]))  # 5 km north of the road
    before = reports_of(engine, road)
    fields = {"period": "2018-06", "status": "推进中", "percent": "60", "note": "已建"}
    r = post_report(editor_browser, road, fields | {"done_geom": json.dumps(far)})
    assert r.status_code == 400
    assert "已建部分偏离本任务的计划范围超过 200 米" in field_error(r.text, "done_geom")
    assert "200 m" in field_error(r.text, "done_geom")
    assert json.dumps(far).replace('"', "&#34;") in r.text  # the drawing comes back to be corrected
    assert reports_of(engine, road) == before


def _geojson_file() -> bytes:
    return json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": done_part(900)}]}
    ).encode()


def _gpx_file() -> bytes:
    points = "".join(f'<trkpt lat="{y:.7f}" lon="{x:.7f}"></trkpt>' for x, y in done_part(700)["coordinates"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>已建</name><trkseg>{points}</trkseg></trk></gpx>"
    ).encode()


def _kml_file() -> bytes:
    coords = " ".join(f"{x:.7f},{y:.7f}" for x, y in done_part(500)["coordinates"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        f"<LineString><coordinates>{coords}</coordinates></LineString></Placemark></Document></kml>"
    ).encode()


def _shapefile_zip(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    import geopandas

    frame = geopandas.GeoDataFrame({"name": ["已建"]}, geometry=[wgs(LineString([(0, 0), (1500, 0)]))], crs=4326)
    frame.to_crs(4547).to_file(tmp_path / "built.shp", engine="pyogrio")  # metres: the server transforms it
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            if (tmp_path / f"built{suffix}").exists():
                z.write(tmp_path / f"built{suffix}", f"built{suffix}")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "metres"),
    [
        ("已建.geojson", lambda tmp: _geojson_file(), 900),
        ("track.gpx", lambda tmp: _gpx_file(), 700),
        ("built.kml", lambda tmp: _kml_file(), 500),
        ("built.zip", _shapefile_zip, 1500),
    ],
)
def test_the_built_part_uploaded_as_a_file(
    editor_browser: TestClient,
    world: TaskWorld,
    engine: Engine,
    fresh: int,
    tmp_path,
    name,
    make,
    metres,  # type: ignore[no-untyped-def]
) -> None:
    road = world.ids["road"]
    fields = {"period": "2018-07", "status": "推进中", "percent": "50", "note": "上传轨迹"}
    r = post_report(editor_browser, road, fields, [("done_file", (name, make(tmp_path), "application/octet-stream"))])
    assert r.status_code == 303, r.text
    saved = reports_of(engine, road)[-1]
    assert saved["done_type"] == "ST_MultiLineString" and saved["done_m"] == pytest.approx(metres, rel=0.01)


def test_a_built_file_that_is_not_what_it_says_is_refused(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    road = world.ids["road"]
    before = reports_of(engine, road)
    fields = {"period": "2018-07", "status": "推进中", "percent": "50", "note": "上传"}
    r = post_report(editor_browser, road, fields, [("done_file", ("built.kml", b"<html><body>x</body></html>", "x"))])
    assert r.status_code == 422
    assert "built.kml" in field_error(r.text, "done_file") and "并重新选择要上传的文件" in r.text
    assert 'value="50"' in r.text and ">上传</textarea>" in r.text
    points = (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>&x;</name></trk></gpx>'
    )
    r = post_report(editor_browser, road, fields, [("done_file", ("t.gpx", points.encode(), "x"))])
    assert r.status_code == 400 and "DTD" in field_error(r.text, "done_file")
    r = post_report(editor_browser, road, fields, [("done_file", ("t.exe", b"MZ\x90\x00", "x"))])
    assert r.status_code == 415 and "GeoJSON、KML、GPX" in field_error(r.text, "done_file")
    assert reports_of(engine, road) == before


def test_an_area_task_takes_a_drawn_polygon(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    from tests.progress.world import box

    drawn = geojson(box(100, 1100, 600, 1600))
    multi = {"type": "MultiPolygon", "coordinates": [drawn["coordinates"]]}
    fields = {"period": "2018-06", "status": "推进中", "percent": "25", "note": "完成四分之一"}
    r = post_report(editor_browser, fresh, fields | {"done_geom": json.dumps(multi)})
    assert r.status_code == 303, r.text
    with engine.connect() as conn:
        area_m2 = conn.execute(
            text("SELECT ST_Area(ST_Transform(done_geom, 4547)) FROM progress_reports WHERE project_id = :p"),
            {"p": fresh},
        ).scalar_one()
    assert area_m2 == pytest.approx(250_000, rel=0.01)
    line = {"type": "MultiLineString", "coordinates": [done_part(300)["coordinates"]]}
    r = post_report(editor_browser, fresh, fields | {"period": "2018-07", "done_geom": json.dumps(line)})
    assert r.status_code == 400 and "本任务是面状任务，已建部分须画成面" in field_error(r.text, "done_geom")


def test_a_file_refused_by_the_progress_rules_is_named_beside_the_file(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, fresh: int
) -> None:
    fields = {"period": "2018-07", "status": "推进中", "percent": "50", "note": "上传"}
    r = post_report(editor_browser, fresh, fields, [("done_file", ("road.geojson", _geojson_file(), "x"))])
    assert r.status_code == 400  # a line for an area task
    assert "须画成面" in field_error(r.text, "done_file")
    assert reports_of(engine, fresh) == []
