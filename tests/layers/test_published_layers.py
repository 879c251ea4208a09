"""Issue 20 over the API: a GIS officer publishes a GBK Shapefile of 生态保护红线 in EPSG:4546, screens against it
with its own rules, replaces it with the 2023 edition, and a screening made before still replays as it was.

The Chromium version of the same story is tests/browser/test_layer_publish_flow.py; this one also reads the
new collection with GDAL's OAPIF driver, the client GIS staff use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from sqlalchemy import Engine, text

from tests.layers.published_kit import drop_published
from tests.layers.redline_files import REDLINE_V1, REDLINE_V2, write_redline_shapefile
from tests.ogc.gdal_client import gdal_read

RULES = """\
layer: {layer}
scheme: "2018"
title: 湖南省生态保护红线 (2018 年发布)
valid_from: 2018-06-29
valid_to: null
regulation: 湖南省人民政府关于发布湖南省生态保护红线的通知 (湘政发〔2018〕20 号)
basis: "test rules for issue 20"

all_subzones:
  non_construction:
    verdict: not_applicable
    clause: 非建设类任务不是开发建设活动。
  industrial:
    verdict: prohibited
    clause: 生态保护红线内禁止工业开发建设。
  ecological_restoration:
    verdict: allowed
    clause: 生态保护修复是红线内允许的活动。

subzones:
  水源涵养:
    default:
      verdict: needs_approval
      by: 湖南省人民政府
      clause: 红线内有限人为活动须经省级人民政府批准。
  生物多样性维护:
    default:
      verdict: needs_approval
      by: 湖南省人民政府
      clause: 红线内有限人为活动须经省级人民政府批准。
  水土保持:
    default:
      verdict: needs_approval
      by: 湖南省人民政府
      clause: 红线内有限人为活动须经省级人民政府批准。
"""
# the same file with a category that does not exist, on line 13
MALFORMED = RULES.replace("  industrial:\n    verdict: prohibited", "  industrail:\n    verdict: prohibited")


@pytest.fixture
def layer_id(owner_engine: Engine) -> Iterator[str]:
    name = f"redline_{uuid.uuid4().hex[:8]}"
    yield name
    drop_published(owner_engine, name)


def _upload(client: Any, auth: dict[str, dict[str, str]], archive: Path, role: str = "gis") -> Any:
    with archive.open("rb") as handle:
        return client.post(
            "/layers/uploads", files={"file": (archive.name, handle, "application/zip")}, headers=auth[role]
        )


def _screen(client: Any, auth: dict[str, dict[str, str]], lon: float, lat: float, category: str = "industrial") -> Any:
    body = {
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "crs": "EPSG:4326",
        "date": "2024-03-01",
        "category": category,
        "name": "拟建厂房",
    }
    r = client.post("/screening", json=body, headers=auth["inspector"])
    assert r.status_code == 201, r.text
    return r.json()


def _layer_answer(answer: dict[str, Any], layer_id: str) -> dict[str, Any]:
    return next(entry for entry in answer["layers"] if entry["layer"] == layer_id)


def test_publish_screen_replace_and_replay(client, auth, layer_id: str, tmp_path: Path, live_server: str) -> None:  # type: ignore[no-untyped-def]
    archive = write_redline_shapefile(tmp_path / "v1", REDLINE_V1, with_cpg=False, bowtie_first=True)
    up = _upload(client, auth, archive)
    assert up.status_code == 201, up.text
    preview = up.json()["preview"]
    assert preview["encoding"] == "GB18030"  # no .cpg: decoded strictly, not guessed into mojibake
    assert preview["crs"] == "EPSG:4546" and preview["crs_from"] == "file"
    assert preview["features"] == 3 and preview["geometry"] == "MultiPolygon"
    assert [f["source"] for f in preview["fields"]] == ["BH", "HXMC", "LX", "MJ_GQ", "PZRQ"]
    assert preview["fields"][1]["samples"][0] == "韶山水源涵养生态保护红线"
    assert preview["repairs"] and "Self-intersection" in preview["repairs"][0]
    assert 112.1 < preview["extent_wgs84"][0] < preview["extent_wgs84"][2] < 112.5

    body = {
        "upload_id": up.json()["upload_id"],
        "layer_id": layer_id,
        "title_zh": "生态保护红线",
        "title_en": "Ecological protection red line",
        "protected": True,
        "key_field": "BH",
        "name_field": "HXMC",
        "subzone_field": "LX",
        "fields": {"PZRQ": {"type": "date", "column": "批准日期"}},
    }
    published = client.post("/layers", json=body, headers=auth["gis"])
    assert published.status_code == 201, published.text
    result = published.json()
    assert result["version"] == 1 and result["features"] == 3 and result["repairs"] == 1
    assert result["repair_samples"][0]["row"] == 1

    # served at once, with its fields typed: an OGC collection with queryables, items and tiles
    items = client.get(f"/collections/{layer_id}/items")
    assert items.status_code == 200, items.text
    props = {f["properties"]["key"]: f["properties"] for f in items.json()["features"]}
    assert props["HN-430382-001"]["name"] == "韶山水源涵养生态保护红线"
    assert props["HN-430382-001"]["批准日期"] == "2018-06-29" and props["HN-430382-001"]["mj_gq"] == 1200.5
    queryables = client.get(f"/collections/{layer_id}/queryables").json()["properties"]
    assert queryables["批准日期"]["format"] == "date"
    filtered = client.get(f"/collections/{layer_id}/items", params={"filter": "mj_gq > 1000"})
    assert [f["properties"]["key"] for f in filtered.json()["features"]] == ["HN-430382-001"]
    assert client.get(f"/collections/{layer_id}/tiles/WebMercatorQuad/8/208/108").status_code in (200, 204)
    gpkg = client.get(f"/collections/{layer_id}/download.gpkg")
    assert gpkg.status_code == 200, gpkg.text
    (tmp_path / "dl.gpkg").write_bytes(gpkg.content)
    downloaded = gpd.read_file(tmp_path / "dl.gpkg")
    assert sorted(downloaded["name"]) == sorted(r[1] for r in REDLINE_V1) and len(downloaded) == 3
    bundled_loader = client.post(
        f"/layers/{layer_id}/uploads", files={"file": ("x.geojson", b"{}")}, headers=auth["gis"]
    )
    assert bundled_loader.status_code == 409 and "/versions" in bundled_loader.json()["detail"]
    frame = gdal_read(f"OAPIF:{live_server}/collections/{layer_id}", fid_as_index=True)
    assert sorted(frame["name"]) == sorted(r[1] for r in REDLINE_V1)

    # its own rules: a malformed file is refused with the line at fault, a good one is accepted
    bad = client.put(
        f"/layers/{layer_id}/rules",
        content=MALFORMED.format(layer=layer_id).encode(),
        headers={**auth["gis"], "Content-Type": "application/yaml"},
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["line"] == 13 and "line 13" in bad.json()["detail"] and "industrail" in bad.json()["detail"]
    good = client.put(
        f"/layers/{layer_id}/rules",
        content=RULES.format(layer=layer_id).encode(),
        headers={**auth["gis"], "Content-Type": "application/yaml"},
    )
    assert good.status_code == 201, good.text
    viewer = client.put(f"/layers/{layer_id}/rules", content=b"x", headers=auth["viewer"])
    assert viewer.status_code == 403

    # screened against with those rules: 001 (water conservation) and 003 (soil), at the date
    inside_001 = _screen(client, auth, 112.29, 27.90)  # the left half of the repaired bow-tie
    entry = _layer_answer(inside_001, layer_id)
    assert entry["verdict"] == "prohibited" and entry["zones"][0]["subzone"] == "水源涵养"
    assert "工业" in entry["zones"][0]["clause"]
    inside_003 = _screen(client, auth, 112.20, 27.75, category="public_facility")
    entry = _layer_answer(inside_003, layer_id)
    assert entry["verdict"] == "needs_approval" and entry["zones"][0]["needs_approval_by"] == "湖南省人民政府"
    assert inside_003["scheme_versions"][layer_id]["layer_version"] == 1

    # the 2023 edition replaces it: 003 is gone, 001 grew, 004 is new
    archive2 = write_redline_shapefile(tmp_path / "v2", REDLINE_V2)
    up2 = _upload(client, auth, archive2)
    assert up2.status_code == 201, up2.text
    replaced = client.post(
        f"/layers/{layer_id}/versions",
        json={"upload_id": up2.json()["upload_id"], "mode": "replace"},
        headers=auth["gis"],
    )
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["version"] == 2 and replaced.json()["deleted"] == 1 and replaced.json()["inserted"] == 1
    keys = {f["properties"]["key"] for f in client.get(f"/collections/{layer_id}/items").json()["features"]}
    assert keys == {"HN-430382-001", "HN-430381-002", "HN-430381-004"}
    history = client.get(f"/layers/{layer_id}/versions").json()
    assert [v["action"] for v in history["versions"]] == ["replace", "publish"]
    assert history["versions"][0]["file_sha256"] != history["versions"][1]["file_sha256"]
    assert history["archived_versions"] == [1]

    # today the site of 003 is outside the red line; the screening made before replays against version 1
    now_003 = _layer_answer(_screen(client, auth, 112.20, 27.75, category="public_facility"), layer_id)
    assert now_003["verdict"] == "outside"
    replay = client.get(f"/screenings/{inside_003['id']}/replay", headers=auth["inspector"])
    assert replay.status_code == 200, replay.text
    replayed = replay.json()
    assert replayed["same"] is True, replayed
    assert replayed["replayed_verdict"] == inside_003["verdict"]
    assert replayed["layer_versions"][layer_id] == {"recorded": 1, "current": 2, "status": "active", "parts": "archive"}
    recheck = client.get(f"/screenings/{inside_003['id']}/recheck", headers=auth["inspector"]).json()
    assert recheck["changed"] is True  # today's layer differs; the replay still finds the verdict it gave
    assert client.get(f"/screenings/{inside_001['id']}/replay", headers=auth["inspector"]).json()["same"] is True

    # retired: kept, no longer served nor screened against; restored: back
    retired = client.post(f"/layers/{layer_id}/retire", json={"note": "并入新版"}, headers=auth["gis"])
    assert retired.status_code == 200, retired.text
    assert client.get(f"/collections/{layer_id}/items").status_code == 404
    assert all(e["layer"] != layer_id for e in _screen(client, auth, 112.29, 27.90)["layers"])
    assert client.get(f"/screenings/{inside_003['id']}/replay", headers=auth["inspector"]).json()["same"] is True
    restored = client.post(f"/layers/{layer_id}/restore", json={}, headers=auth["gis"])
    assert restored.status_code == 200, restored.text
    assert client.get(f"/collections/{layer_id}/items").status_code == 200


def test_publishing_needs_the_gis_role_and_checks_what_it_is_given(client, auth, layer_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = write_redline_shapefile(tmp_path / "v1", REDLINE_V1)
    assert _upload(client, auth, archive, role="editor").status_code == 403
    up = _upload(client, auth, archive)
    upload_id = up.json()["upload_id"]
    base = {"upload_id": upload_id, "layer_id": layer_id, "title_zh": "红线"}
    cases = [
        ({**base, "layer_id": "../x"}, 400, "layer id"),
        ({**base, "layer_id": "projects"}, 400, "reserved"),
        ({**base, "layer_id": "layer_catalogue"}, 400, "reserved"),
        ({**base, "title_zh": " "}, 400, "title_zh"),
        ({**base, "crs": "EPSG:999999"}, 400, "CRS"),
        ({**base, "key_field": "NOPE"}, 400, "key_field"),
        ({**base, "fields": {"BH": {"column": "geom; DROP TABLE x"}}}, 400, "letters, digits"),
        ({**base, "fields": {"MJ_GQ": {"type": "money"}}}, 400, "type"),
        ({**base, "fields": {"HXMC": {"type": "bigint"}}}, 422, "row 1, field 'HXMC'"),
        ({**base, "key_field": "PZRQ", "fields": {}}, 422, "repeats"),
    ]
    for body, status, words in cases:
        r = client.post("/layers", json=body, headers=auth["gis"])
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["detail"], (words, r.json()["detail"])
    # nothing of the refused attempts is left: no table, no catalogue row
    assert client.get(f"/layers/{layer_id}").status_code == 404
    assert client.get(f"/collections/{layer_id}").status_code == 404
    ok = client.post("/layers", json={**base, "key_field": "BH"}, headers=auth["gis"])
    assert ok.status_code == 201, ok.text
    again = client.post("/layers", json={**base, "key_field": "BH"}, headers=auth["gis"])
    assert again.status_code == 409  # the upload was used, and the id is taken


def test_odd_field_names_become_safe_readable_columns(client, auth, layer_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {
            "geom; DROP TABLE projects": ["a", "b"],
            "名称": ["岳麓山", "橘子洲"],
            "Shape_Area": [1.5, 2.5],
            "1st": [1, 2],
            "id": [7, 8],
        },
        geometry=[shapely.Point(112.93, 28.19), shapely.Point(112.96, 28.18)],
        crs="EPSG:4326",
    )
    path = tmp_path / "odd.geojson"
    frame.to_file(path, driver="GeoJSON")
    with path.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("odd.geojson", handle)}, headers=auth["gis"])
    assert up.status_code == 201, up.text
    columns = {f["source"]: f["column"] for f in up.json()["preview"]["fields"]}
    assert columns == {
        "geom; DROP TABLE projects": "geom_drop_table_projects",
        "名称": "名称",
        "Shape_Area": "shape_area",
        "1st": "f_1st",
        "id": "id_1",
    }
    r = client.post(
        "/layers",
        json={
            "upload_id": up.json()["upload_id"],
            "layer_id": layer_id,
            "title_zh": "奇怪的字段",
            "name_field": "名称",
        },
        headers=auth["gis"],
    )
    assert r.status_code == 201, r.text
    item = client.get(f"/collections/{layer_id}/items").json()["features"][0]["properties"]
    assert item["geom_drop_table_projects"] == "a" and item["名称"] == "岳麓山" and item["id_1"] == 7
    assert client.get("/collections/projects").status_code == 200  # still there


def test_a_bad_row_names_itself_and_nothing_is_published(
    client,
    auth,
    layer_id: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    engine: Engine,
) -> None:
    csv = tmp_path / "plants.csv"
    csv.write_text(
        "编号,名称,经度,纬度,规模\nA1,一厂,113.1,27.8,10\nA2,二厂,113.2,27.9,二十\nA3,三厂,27.9,113.2,5\n",
        encoding="utf-8",
    )
    with csv.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("plants.csv", handle)}, headers=auth["gis"])
    assert up.status_code == 201, up.text
    preview = up.json()["preview"]
    assert preview["geometry"] == "Point" and preview["features"] == 3 and preview["crs"] is None
    base = {"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": "厂", "key_field": "编号"}
    no_crs = client.post("/layers", json=base, headers=auth["gis"])
    assert no_crs.status_code == 400 and no_crs.json()["fault"] == "crs_needed"
    swapped = client.post("/layers", json={**base, "crs": "EPSG:4326"}, headers=auth["gis"])
    assert swapped.status_code == 422 and swapped.json()["fault"] == "crs"  # row 3: latitude 113.2
    assert swapped.json()["row"] == 3
    csv.write_text("编号,名称,经度,纬度,规模\nA1,一厂,113.1,27.8,10\nA2,二厂,113.2,27.9,二十\n", encoding="utf-8")
    with csv.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("plants.csv", handle)}, headers=auth["gis"])
    base["upload_id"] = up.json()["upload_id"]
    typed = client.post(
        "/layers", json={**base, "crs": "EPSG:4326", "fields": {"规模": {"type": "bigint"}}}, headers=auth["gis"]
    )
    assert typed.status_code == 422 and typed.json()["row"] == 2 and "二十" in typed.json()["detail"]
    assert typed.json()["field"] == "规模"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": layer_id}).scalar() is None
        assert conn.execute(text("SELECT count(*) FROM layer_catalogue WHERE id = :t"), {"t": layer_id}).scalar() == 0
        stages = conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'xm_stage_%'")).scalar()
    assert stages == 0


def test_a_published_layer_with_names_is_offered_to_the_geocoder(client, auth, layer_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"编码": ["W1", "W2"], "名称": ["荷塘观测站甲", "白石港水质站乙"]},
        geometry=[shapely.Point(113.16, 27.86), shapely.Point(113.18, 27.88)],
        crs="EPSG:4326",
    )
    path = tmp_path / "stations.gpkg"
    frame.to_file(path, driver="GPKG", layer="stations")
    before = client.post("/geocode", json={"text": "推进白石港水质站乙提质改造"}, headers=auth["editor"]).json()
    assert all(m["layer"] != layer_id for m in before["matches"])
    with path.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("stations.gpkg", handle)}, headers=auth["gis"])
    assert up.json()["preview"]["name_field"] == "名称" and up.json()["preview"]["key_field"] == "编码"
    r = client.post(
        "/layers",
        json={"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": "水质站"},
        headers=auth["gis"],
    )
    assert r.status_code == 201, r.text
    after = client.post("/geocode", json={"text": "推进白石港水质站乙提质改造"}, headers=auth["editor"]).json()
    found = [m for m in after["matches"] if m["layer"] == layer_id]
    assert found and found[0]["name"] == "白石港水质站乙" and found[0]["precision"] == 1


def test_qgis_reads_a_published_layer_at_once(client, auth, layer_id: str, tmp_path: Path, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """QGIS's own OAPIF provider (what GIS staff open) sees the new layer with its Chinese names and sub-zones."""
    from tests.ogc.qgis_client import qgis_available, qgis_run

    if not qgis_available():
        pytest.skip("python3-qgis is not installed")
    archive = write_redline_shapefile(tmp_path / "v1", REDLINE_V1)
    up = _upload(client, auth, archive)
    body = {
        "upload_id": up.json()["upload_id"],
        "layer_id": layer_id,
        "title_zh": "生态保护红线",
        "key_field": "BH",
        "name_field": "HXMC",
        "subzone_field": "LX",
    }
    assert client.post("/layers", json=body, headers=auth["gis"]).status_code == 201
    uri = f"pagingEnabled='true' typename='{layer_id}' url='{live_server}/'"
    [result] = qgis_run([{"kind": "vector", "provider": "OAPIF", "uri": uri, "fields": ["key", "name", "subzone"]}])
    assert result["valid"], result.get("error")
    assert result["wkb_type"] == "MultiPolygon" and result["feature_count"] == 3
    got = {f["attributes"]["key"]: (f["attributes"]["name"], f["attributes"]["subzone"]) for f in result["features"]}
    assert got == {r[0]: (r[1], r[2]) for r in REDLINE_V1}


def test_a_date_that_does_not_exist_names_its_row(client, auth, layer_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "dates.csv"
    csv.write_text(
        "编号,经度,纬度,批准日期\nA1,113.1,27.8,2023-02-28\nA2,113.2,27.9,2023/13/01\nA3,113.2,27.9,2023-02-30\n",
        encoding="utf-8",
    )
    with csv.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("dates.csv", handle)}, headers=auth["gis"])
    base = {
        "upload_id": up.json()["upload_id"],
        "layer_id": layer_id,
        "title_zh": "日期",
        "key_field": "编号",
        "crs": "EPSG:4326",
        "fields": {"批准日期": {"type": "date"}},
    }
    r = client.post("/layers", json=base, headers=auth["gis"])
    assert r.status_code == 422 and r.json()["row"] == 2 and "2023/13/01" in r.json()["detail"], r.text
    csv.write_text("编号,经度,纬度,批准日期\nA1,113.1,27.8,2023-02-28\nA3,113.2,27.9,2023-02-30\n", encoding="utf-8")
    with csv.open("rb") as handle:
        up = client.post("/layers/uploads", files={"file": ("dates.csv", handle)}, headers=auth["gis"])
    r = client.post("/layers", json={**base, "upload_id": up.json()["upload_id"]}, headers=auth["gis"])
    assert r.status_code == 422 and r.json()["row"] == 2 and "2023-02-30" in r.json()["detail"], r.text


def test_a_job_whose_worker_died_says_so(client, auth, owner_engine: Engine, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """A load whose worker was restarted stays 'running' in its row; after STALE_AFTER it reads as failed."""
    with owner_engine.begin() as conn:
        job = conn.execute(
            text(
                "INSERT INTO layer_jobs (actor, action, layer, state, phase, created_at) VALUES ('test-gis', "
                "'publish', 'lost_layer', 'running', 'copy', now() - interval '4 hours') RETURNING id::text"
            )
        ).scalar_one()
    try:
        answer = client.get(f"/layers/jobs/{job}", headers=auth["gis"]).json()
        assert answer["state"] == "failed" and answer["error"]["fault"] == "worker_lost", answer
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM layer_jobs WHERE id = CAST(:j AS uuid)"), {"j": job})


def test_a_project_on_a_published_feature_and_a_road_keeps_both_when_rederived(  # type: ignore[no-untyped-def]
    client, auth, layer_id: str, tmp_path: Path, engine: Engine
) -> None:
    """A published layer's new edition re-derives projects through the bundled layers' own mechanism: the
    project's other locations (a road) stay in its geometry."""
    from sqlalchemy.orm import Session

    from service.layers.rederive import rederive_project_geometries

    archive = write_redline_shapefile(tmp_path / "v1", REDLINE_V1)
    up = _upload(client, auth, archive)
    body = {"upload_id": up.json()["upload_id"], "layer_id": layer_id, "title_zh": "红线", "key_field": "BH"}
    assert client.post("/layers", json=body, headers=auth["gis"]).status_code == 201
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection)
        try:
            pid, road_key = session.execute(
                text("SELECT project_id, feature_key FROM project_locations WHERE layer = 'roads' LIMIT 1")
            ).one()
            session.execute(
                text(
                    "INSERT INTO project_locations (project_id, layer, feature_key, name, precision, exactness, "
                    "location_class, method) VALUES (:p, :l, 'HN-430382-001', '韶山', 2, 2, 2, 'gazetteer')"
                ),
                {"p": pid, "l": layer_id},
            )
            assert rederive_project_geometries(session, layer_id, ["HN-430382-001"]) == 1
            covered = session.execute(
                text(
                    f"""SELECT ST_Covers(p.geom, r.geom) AND ST_Intersects(p.geom, z.geom)
                        FROM projects p, roads r, "{layer_id}" z
                        WHERE p.id = :p AND r.key = :r AND z.key = 'HN-430382-001'"""
                ),
                {"p": pid, "r": road_key},
            ).scalar()
            assert covered is True
        finally:
            session.close()
            transaction.rollback()
