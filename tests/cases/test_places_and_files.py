"""A case's place (GCJ-02 / BD-09 / WGS84 positions, drawn areas, files) and its files (hostile ones refused
with nothing stored, EXIF read, served only to those who may see the case), against PostGIS."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import Engine, text

from service.cases.places import bd09_to_gcj02, position_to_wgs84
from service.common.chinese_crs import gcj02_to_bd09
from tests.cases.conftest import CaseWorld, jpeg
from tests.cases.test_case_api import register


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("cases", "case_events", "case_files")
        )


def _distance_m(engine: Engine, case_id: int, lon: float, lat: float) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                text(
                    "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)"
                    " FROM cases WHERE id = :id"
                ),
                {"id": case_id, "lon": lon, "lat": lat},
            ).scalar_one()
        )


def _db_gcj02(engine: Engine, lon: float, lat: float) -> tuple[float, float]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT ST_X(g), ST_Y(g) FROM xm_gcj02(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AS g"),
            {"lon": lon, "lat": lat},
        ).one()
    return float(row[0]), float(row[1])


def test_gcj02_position_is_converted_back_to_what_the_database_moved(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    wgs = (113.0765, 27.9012)
    gcj = _db_gcj02(engine, *wgs)
    assert _distance_between(wgs, gcj) > 100  # the offset is real (hundreds of metres)
    made = register(client, world, position={"lon": gcj[0], "lat": gcj[1], "accuracy_m": 12, "crs": "GCJ-02"})
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["position_crs"] == "GCJ-02" and case["accuracy_m"] == 12 and case["position_source"] == "gps"
    assert _distance_m(engine, case["id"], *wgs) < 0.01
    assert case["city"] == "株洲市"


def test_bd09_position_is_converted(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    wgs = (112.9388, 28.2282)  # 长沙
    bd = gcj02_to_bd09(*_db_gcj02(engine, *wgs))
    made = register(client, world, position={"lon": bd[0], "lat": bd[1], "crs": "BD-09"})
    assert made.status_code == 201, made.text
    assert _distance_m(engine, made.json()["id"], *wgs) < 1.0  # BD-09 → GCJ-02 is Baidu's closed formula
    assert made.json()["city"] == "长沙市"
    # the closed formula round-trips within a decimetre; GCJ-02 → WGS84 to well under a centimetre
    assert _distance_between(bd09_to_gcj02(*gcj02_to_bd09(113.0, 27.9)), (113.0, 27.9)) < 0.1
    back = position_to_wgs84(*_db_gcj02(engine, 113.0, 27.9), "GCJ-02")
    assert _distance_between(back, (113.0, 27.9)) < 0.01


def _distance_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    from pyproj import Geod

    return float(Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])[2])


def test_swapped_axes_and_places_outside_the_service_area_are_400(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    before = _counts(engine)
    swapped = register(client, world, position={"lon": 27.9, "lat": 113.0, "crs": "WGS84"})
    assert swapped.status_code == 400 and swapped.json()["parameter"] == "position"
    assert swapped.json()["fault"] == "swapped_axes" and "写反" in swapped.json()["detail"]
    outside = register(client, world, position={"lon": 2.35, "lat": 48.85, "crs": "WGS84"})
    assert outside.status_code == 400 and outside.json()["fault"] == "outside_service_area"
    beyond = register(client, world, position={"lon": 200, "lat": 28, "crs": "GCJ-02"})
    assert beyond.status_code == 400 and beyond.json()["parameter"] == "position"
    drawn = register(client, world, position=None, geometry={"type": "Point", "coordinates": [28.0, 112.9]})
    assert drawn.status_code == 400 and drawn.json()["parameter"] == "geometry"
    both = register(client, world, geometry={"type": "Point", "coordinates": [112.9, 28.0]})
    assert both.status_code == 400 and "exactly one" in both.json()["detail"]
    assert _counts(engine) == before


def test_a_drawn_polygon_and_a_kml_file(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    x, y = world.core
    ring = [[x - 0.001, y - 0.001], [x + 0.001, y - 0.001], [x + 0.001, y + 0.001], [x - 0.001, y + 0.001]]
    drawn = register(client, world, position=None, geometry={"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
    assert drawn.status_code == 201, drawn.text
    assert drawn.json()["position_source"] == "drawn" and drawn.json()["screening"]["overlap_m2"] > 0
    coords = " ".join(f"{a},{b}" for a, b in [*ring, ring[0]])
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs>"
        "</Polygon></Placemark></Document></kml>"
    ).encode()
    body = {"kind": "违法违规", "title": "违法占地", "found_on": "2026-06-01"}
    made = client.post(
        "/cases",
        data={"data": json.dumps(body, ensure_ascii=False)},
        files=[("place_file", ("范围.kml", kml, "application/vnd.google-earth.kml+xml"))],
        headers=world.headers["inspector"],
    )
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["position_source"] == "file" and case["geometry"]["type"] == "Polygon"
    assert case["number"].startswith("违法〔")
    assert case["screening"]["date"] == "2026-06-01"


def _kmz_bomb() -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("doc.kml", "w", force_zip64=True) as member,
    ):
        for _ in range(300):
            member.write(bytes(1024 * 1024))
    return out.getvalue()


def test_hostile_files_are_refused_with_nothing_stored(client, world: CaseWorld, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    before = _counts(engine)
    exe = register(client, world, files=[("photo.jpg", b"MZ\x90\x00" + bytes(200), "image/jpeg")])
    assert exe.status_code == 415 and "Windows" in exe.json()["detail"] and exe.json()["parameter"] == "files"
    truncated = jpeg(size=(400, 300))[:600]
    cut = register(client, world, files=[("cut.jpg", truncated, "image/jpeg")])
    assert cut.status_code == 422 and "cut.jpg" in cut.json()["detail"]
    big = register(
        client, world, files=[("big.pdf", b"%PDF-1.4\n" + bytes(21 * 1024 * 1024) + b"%%EOF", "application/pdf")]
    )
    assert big.status_code == 413, big.text
    bomb = client.post(
        "/cases",
        data={"data": json.dumps({"kind": "巡查发现", "title": "x"})},
        files=[("place_file", ("patrol.kmz", _kmz_bomb(), "application/vnd.google-earth.kmz"))],
        headers=world.headers["inspector"],
    )
    assert bomb.status_code == 413 and bomb.json()["parameter"] == "place_file", bomb.text
    good_and_bad = register(
        client, world, files=[("ok.jpg", jpeg(), "image/jpeg"), ("bad.jpg", b"<html></html>", "image/jpeg")]
    )
    assert good_and_bad.status_code == 415
    assert _counts(engine) == before


def test_exif_position_and_time_are_read_and_files_served_to_those_who_see(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    lon, lat = world.core
    photo = jpeg(gps=(lon + 0.001, lat), taken="2026:03:01 10:20:30")
    made = register(client, world, files=[("现场照片.jpg", photo, "image/jpeg")])
    assert made.status_code == 201, made.text
    case = made.json()
    f = case["files"][0]
    assert abs(f["exif_lon"] - (lon + 0.001)) < 1e-5 and abs(f["exif_lat"] - lat) < 1e-5
    assert f["exif_taken_at"].startswith("2026-03-01T10:20:30")
    assert 80 < f["exif_distance_m"] < 120  # 0.001° of longitude at 28° N is about 98 m
    served = client.get(f["href"], headers=world.headers["inspector2"])
    assert served.status_code == 200 and served.content == photo
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    for who in ("other_editor", "viewer"):
        assert client.get(f["href"], headers=world.headers[who]).status_code == 404
    assert client.get(f["href"]).status_code == 401
    assert client.get(f"/cases/{case['id']}/files/999999999", headers=world.headers["inspector"]).status_code == 404


def test_moving_a_case_screens_it_again(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world).json()
    first_screening = case["screening_id"]
    headers = world.headers["inspector"] | {"If-Match": case["etag"], "Content-Type": "application/json"}
    body = {"position": {"lon": 112.9388, "lat": 28.2282, "crs": "WGS84"}, "note": "定位有误，改到实际位置"}
    moved = client.put(f"/cases/{case['id']}/place", content=json.dumps(body), headers=headers)
    assert moved.status_code == 200, moved.text
    after = moved.json()
    assert after["screening_id"] != first_screening and after["city"] == "长沙市"
    assert after["events"][-1]["action"] == "edit" and after["version"] == case["version"] + 1
    stale = client.put(f"/cases/{case['id']}/place", content=json.dumps(body), headers=headers)
    assert stale.status_code == 412


def test_files_added_by_the_responsible_editor(client, world: CaseWorld) -> None:  # type: ignore[no-untyped-def]
    case = register(client, world, responsible_unit=world.unit_a).json()
    added = client.post(
        f"/cases/{case['id']}/files",
        data={"note": "补充照片"},
        files=[("files", ("more.jpg", jpeg(), "image/jpeg"))],
        headers=world.headers["editor"],
    )
    assert added.status_code == 201, added.text
    assert added.json()["events"][-1]["action"] == "file" and len(added.json()["files"]) == 1
    refused = client.post(
        f"/cases/{case['id']}/files",
        files=[("files", ("x.jpg", jpeg(), "image/jpeg"))],
        headers=world.headers["viewer"],
    )
    assert refused.status_code == 404
