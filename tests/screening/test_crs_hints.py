"""No silent CRS guesses (issue 18): an undeclared CRS is said, metres ask for their zone, swapped axes are read.

Through the HTTP API, as an inspector sends them: a phone KML / GPX / GeoJSON without ``crs`` is screened as
WGS84 with a warning naming ``crs=gcj02``; Gauss-Kruger metres without ``crs`` are a 400 naming the zone
(EPSG:4547 at Chang-Zhu-Tan, EPSG:4526 when the eastings carry the zone number 38); lat/lon given as lon/lat
is refused with the swapped reading and where it lands.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

from service.common.chinese_crs import wgs84_to_gcj02
from service.screening.crs_hints import HUNAN_ZONES
from service.screening.site_input import SUPPORTED_CRS, input_from_request
from tests.screening.conftest import CENTRE, TO_4547, ScreeningZones, metric_box, to_4547


def screen(client, auth, body: dict):  # type: ignore[no-untyped-def]
    return client.post("/screening", json={"date": "2018-06-01", **body}, headers=auth["inspector"])


def upload(client, auth, name: str, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/screening", files={"file": (name, data)}, data={"date": "2018-06-01", **fields}, headers=auth["inspector"]
    )


def answered(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 201, response.text
    return response.json()


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def codes(answer: dict) -> list[str]:
    return [w["code"] for w in answer["input"]["warnings"]]


@pytest.fixture(scope="module")
def site() -> shapely.Geometry:
    return metric_box(2000, -1000, 5000, 1000)  # in the restricted zone, away from the core's edge


@pytest.fixture(scope="module")
def kml(site, tmp_path_factory) -> bytes:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("kml") / "site.kml"
    gpd.GeoDataFrame({"name": ["手机导出"]}, geometry=[site], crs=4326).to_file(path, driver="KML")
    return path.read_bytes()


def centre_m(answer: dict) -> shapely.Point:
    return to_4547(shapely.geometry.shape(answer["input"]["geometry"]).centroid)


# ---------------------------------------------------------------- an undeclared CRS is said


def test_a_kml_without_crs_is_screened_with_the_gcj02_warning(client, auth, zones: ScreeningZones, kml: bytes) -> None:  # type: ignore[no-untyped-def]
    answer = answered(upload(client, auth, "site.kml", kml))
    assert answer["input"]["crs"] == "EPSG:4326" and answer["verdict"]
    [warning] = [w for w in answer["input"]["warnings"] if w["code"] == "crs_assumed"]
    assert warning["parameter"] == "crs" and warning["assumed"] == "EPSG:4326" and warning["likely"] == "gcj02"
    assert "crs=gcj02" in warning["message"] and "crs=gcj02" in warning["zh"] and "crs=gcj02" in warning["en"]
    assert "GCJ-02" in warning["zh"] and "WGS84" in warning["en"] and " / " in warning["message"]


def test_a_kml_with_crs_gcj02_has_no_warning_and_lands_600_m_away(
    client, auth, zones: ScreeningZones, kml: bytes
) -> None:  # type: ignore[no-untyped-def]
    assumed = answered(upload(client, auth, "site.kml", kml))
    gcj = answered(upload(client, auth, "site.kml", kml, crs="gcj02"))
    assert "crs_assumed" not in codes(gcj) and gcj["input"]["crs"] == "gcj02"
    moved = centre_m(assumed).distance(centre_m(gcj))
    assert 450 < moved < 750, moved  # the GCJ-02 offset around Zhuzhou
    confirmed = answered(upload(client, auth, "site.kml", kml, crs="EPSG:4326"))  # WGS84, said so
    assert "crs_assumed" not in codes(confirmed)
    assert centre_m(confirmed).distance(centre_m(assumed)) < 0.01


def test_a_geojson_body_or_file_without_crs_warns_and_with_crs_does_not(
    client, auth, zones: ScreeningZones, site
) -> None:  # type: ignore[no-untyped-def]
    geometry = shapely.geometry.mapping(site)
    assert "crs_assumed" in codes(answered(screen(client, auth, {"geometry": geometry})))
    assert "crs_assumed" not in codes(answered(screen(client, auth, {"geometry": geometry, "crs": "EPSG:4326"})))
    data = gpd.GeoDataFrame({"n": [1]}, geometry=[site], crs=4326).to_json().encode()
    assert "crs_assumed" in codes(answered(upload(client, auth, "site.geojson", data)))
    assert "crs_assumed" not in codes(answered(upload(client, auth, "site.geojson", data, crs="wgs84")))


def test_a_gpx_track_without_crs_is_screened_with_the_warning(client, auth, zones: ScreeningZones) -> None:  # type: ignore[no-untyped-def]
    line = metric_box(2000, -1000, 5000, 1000).exterior
    points = "".join(f'<trkpt lat="{y}" lon="{x}"/>' for x, y in line.coords)
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="phone" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>走一圈</name><trkseg>{points}</trkseg></trk></gpx>'
    )
    answer = answered(upload(client, auth, "walk.gpx", gpx.encode()))
    assert answer["input"]["geometry"]["type"] in ("LineString", "MultiLineString")
    assert "crs_assumed" in codes(answer)
    assert "crs_assumed" not in codes(answered(upload(client, auth, "walk.gpx", gpx.encode(), crs="gcj02")))


def test_the_input_says_whether_its_crs_was_declared_and_what_it_received() -> None:
    """ScreeningInput.crs_declared and coordinates_received, before any transformation (for the report)."""
    x, y = wgs84_to_gcj02(*CENTRE)
    site = input_from_request(geometry={"type": "Point", "coordinates": [x, y]}, crs="gcj02")
    assert site.crs_declared is True and site.warnings == []
    assert site.coordinates_received == {
        "crs": "gcj02",
        "axis_order": "longitude, latitude",
        "first": [round(x, 6), round(y, 6)],
        "bbox": None,
        "vertices": 1,
    }
    assert site.geometry.distance(shapely.Point(CENTRE)) < 1e-6  # converted; the received coordinates are not
    e, n = TO_4547.transform(*CENTRE)
    metres = input_from_request(wkt=f"LINESTRING ({e} {n}, {e + 100} {n + 50})", crs="EPSG:4547")
    assert metres.coordinates_received["first"] == [round(e, 2), round(n, 2)]
    assert metres.coordinates_received["bbox"] == [round(e, 2), round(n, 2), round(e + 100, 2), round(n + 50, 2)]
    assumed = input_from_request(wkt="POINT (113.8 26.9)")
    assert assumed.crs_declared is False and assumed.crs == "EPSG:4326"
    assert [w["code"] for w in assumed.warnings] == ["crs_assumed"]


# ---------------------------------------------------------------- metres ask for their zone


def test_metres_without_crs_ask_for_epsg_4547(client, auth) -> None:  # type: ignore[no-untyped-def]
    e, n = TO_4547.transform(*CENTRE)
    body = problem(screen(client, auth, {"geometry": {"type": "Point", "coordinates": [e, n]}}), 400)
    assert body["parameter"] == "crs" and body["fault"] == "crs_needed"
    assert body["likely_crs"][0] == "EPSG:4547" and "crs=EPSG:4547" in body["detail"]
    assert "EPSG:4547" in body["detail"] and "高斯-克吕格" in body["detail"] and "114" in body["detail"]
    best = body["candidates"][0]
    assert best["in_hunan_bbox"] and best["first_point_lonlat"] == pytest.approx(list(CENTRE), abs=1e-6)
    # eastings alone cannot tell the zones apart: every zone that puts the point in Hunan is named, 114E first
    assert set(body["likely_crs"]) <= {"EPSG:4545", "EPSG:4546", "EPSG:4547"}
    assert all(c["in_hunan_bbox"] for c in body["candidates"])
    polygon = problem(screen(client, auth, {"wkt": to_4547(metric_box(0, 0, 500, 500)).wkt}), 400)
    assert polygon["likely_crs"][0] == "EPSG:4547" and polygon["parameter"] == "crs"


def test_metres_with_the_zone_number_38_name_the_zone(client, auth) -> None:  # type: ignore[no-untyped-def]
    e, n = TO_4547.transform(*CENTRE)
    body = problem(screen(client, auth, {"geometry": {"type": "Point", "coordinates": [38_000_000 + e, n]}}), 400)
    assert body["likely_crs"] == ["EPSG:4526"] and body["candidates"][0]["central_meridian"] == 114
    assert "crs=EPSG:4526" in body["detail"] and "EPSG:4547" in body["detail"] and "38" in body["detail"]


def test_metres_northing_first_without_crs_say_so(client, auth) -> None:  # type: ignore[no-untyped-def]
    e, n = TO_4547.transform(*CENTRE)
    body = problem(screen(client, auth, {"geometry": {"type": "Point", "coordinates": [n, e]}}), 400)
    assert body["axes_swapped"] is True and body["likely_crs"][0] == "EPSG:4547"
    assert "[easting, northing]" in body["detail"]


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_metres_in_a_shapefile_without_prj_ask_for_the_crs(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[to_4547(metric_box(0, 0, 500, 500))], crs=None)
    frame.to_file(tmp_path / "site.shp")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        for part in tmp_path.iterdir():
            archive.write(part, part.name)
    body = problem(upload(client, auth, "site.zip", zipped.getvalue()), 400)
    assert body["fault"] == "crs_needed" and body["likely_crs"][0] == "EPSG:4547"


def test_metres_with_their_crs_are_screened(client, auth, zones: ScreeningZones, site) -> None:  # type: ignore[no-untyped-def]
    wgs = answered(screen(client, auth, {"geometry": shapely.geometry.mapping(site), "crs": "EPSG:4326"}))
    metres = to_4547(site)
    plain = answered(screen(client, auth, {"wkt": metres.wkt, "crs": "EPSG:4547"}))
    prefixed = shapely.transform(metres, lambda xy: xy + np.array([38_000_000, 0]))
    zoned = answered(screen(client, auth, {"wkt": prefixed.wkt, "crs": "EPSG:4526"}))
    for got in (plain, zoned):
        assert "crs_assumed" not in codes(got) and got["verdict"] == wgs["verdict"]
        assert centre_m(got).distance(centre_m(wgs)) < 0.01
    # the zone number on the wrong side names the code that fits
    wrong = problem(screen(client, auth, {"wkt": prefixed.wkt, "crs": "EPSG:4547"}), 422)
    assert wrong["likely_crs"] == ["EPSG:4526"]
    missing = problem(screen(client, auth, {"wkt": metres.wkt, "crs": "EPSG:4526"}), 422)
    assert missing["likely_crs"] == ["EPSG:4547"]


def test_a_legacy_geojson_crs_member_declares_the_crs(client, auth, zones: ScreeningZones, site) -> None:  # type: ignore[no-untyped-def]
    geometry = {
        **shapely.geometry.mapping(to_4547(site)),
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}},
    }
    answer = answered(screen(client, auth, {"geometry": geometry}))
    assert answer["input"]["crs"] == "EPSG:4547" and "crs_assumed" not in codes(answer)
    clash = problem(screen(client, auth, {"geometry": geometry, "crs": "gcj02"}), 422)
    assert clash["pointer"] == "/geometry/crs" and "EPSG:4547" in clash["detail"]


def test_the_hunan_zones_are_the_ones_proj_names() -> None:
    for zone in HUNAN_ZONES:
        assert CRS.from_epsg(zone.epsg).name == zone.name
        assert CRS.from_epsg(zone.prefixed_epsg).name == zone.prefixed_name
        assert f"EPSG:{zone.epsg}" in SUPPORTED_CRS and f"EPSG:{zone.prefixed_epsg}" in SUPPORTED_CRS


# ---------------------------------------------------------------- swapped axes are read


def test_swapped_lat_lon_is_refused_with_the_swapped_reading(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = problem(screen(client, auth, {"geometry": {"type": "Point", "coordinates": [27.9739, 113.0171]}}), 422)
    assert body["fault"] == "swapped_axes" and body["swapped_reading"] == [113.0171, 27.9739, 113.0171, 27.9739]
    detail = body["swapped_detail"]
    assert detail["first_point"] == [113.0171, 27.9739] and detail["first_point_received"] == [27.9739, 113.0171]
    assert detail["in_hunan_bbox"] is True and detail["city"] == "湘潭市" and detail["district"]
    assert "[longitude, latitude]" in detail["how_to_send"]["en"] and "GeoJSON" in detail["how_to_send"]["zh"]
    assert "113.01710°E 27.97390°N" in body["detail"] and "湘潭市" in body["detail"]
    wkt = problem(screen(client, auth, {"wkt": "POINT (27.9739 113.0171)"}), 422)
    assert "WKT" in wkt["swapped_detail"]["how_to_send"]["en"]


def test_swapped_easting_northing_is_refused_with_where_it_lands(client, auth) -> None:  # type: ignore[no-untyped-def]
    e, n = TO_4547.transform(*CENTRE)
    body = problem(screen(client, auth, {"wkt": f"POINT ({n} {e})", "crs": "EPSG:4547"}), 422)
    assert body["fault"] == "swapped_axes"
    detail = body["swapped_detail"]
    assert detail["first_point"] == [round(e, 2), round(n, 2)]
    assert detail["first_point_lonlat"] == pytest.approx(list(CENTRE), abs=1e-6) and detail["in_hunan_bbox"]
    assert detail["city"] == "株洲市" and "[easting, northing]" in detail["how_to_send"]["en"]


def test_a_file_named_gpx_must_be_a_gpx(client, auth) -> None:  # type: ignore[no-untyped-def]
    vrt = (
        b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/hostname</SrcDataSource>'
        b"</OGRVRTLayer></OGRVRTDataSource>"
    )
    body = problem(upload(client, auth, "site.gpx", vrt), 415)
    assert body["fault"] == "format_mismatch" and "site.gpx" in body["detail"] and "hostname" not in body["detail"]
    entity = '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]><gpx>&x;</gpx>'
    assert problem(upload(client, auth, "site.gpx", entity.encode()), 400)["fault"] == "xml_entities"
