"""POST /screening end to end: verdicts, schemes by date, CRS inputs, exact figures, recording."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient

from service.common.chinese_crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.screening.conftest import ScreeningZones, metric_box, metric_point, to_4547


def post(client: TestClient, auth: dict[str, dict[str, str]], body: dict, role: str = "inspector"):  # type: ignore[no-untyped-def]
    return client.post("/screening", json=body, headers=auth[role])


def zone_hits(answer: dict, layer: str = "green_heart") -> list[dict]:
    entry = next(e for e in answer["layers"] if e["layer"] == layer)
    return [z for z in entry["zones"] if z["zone_key"].startswith("t7-")]


def test_point_in_core_2018_is_prohibited_and_recorded(client, auth, zones: ScreeningZones) -> None:
    point = metric_point(0, 0)
    r = post(client, auth, {"geometry": shapely.geometry.mapping(point), "date": "2018-06-01"})
    assert r.status_code == 201, r.text
    answer = r.json()
    [hit] = zone_hits(answer)
    assert (hit["scheme"], hit["subzone"], hit["inside"]) == ("2010-2030", "禁止开发区", True)
    assert hit["verdict"] == "prohibited" and hit["distance_m"] == 0 and hit["overlap_pct"] == 100
    assert "禁止" in hit["clause"] and "2012" in hit["regulation"]
    assert answer["verdict"] == "prohibited" and answer["flagged"] is True
    assert r.headers["location"] == f"/screenings/{answer['id']}"
    again = client.get(f"/screenings/{answer['id']}", headers=auth["inspector"]).json()
    # the share link is signed afresh on each read (its expiry counts from now), so it may differ by a second
    shared = again["links"].pop("map_shared"), answer["links"].pop("map_shared")
    assert all(link.startswith(f"/maps/screening/{answer['id']}?expires=") for link in shared)
    assert again == answer


def test_date_switches_scheme(client, auth, zones: ScreeningZones) -> None:
    point = shapely.geometry.mapping(metric_point(6000, 0))  # 限制开发区 (2010-2030), 融合发展区 (2024)
    old = zone_hits(post(client, auth, {"geometry": point, "date": "2018-01-01"}).json())
    new = zone_hits(post(client, auth, {"geometry": point, "date": "2025-01-01"}).json())
    assert [(z["scheme"], z["subzone"]) for z in old] == [("2010-2030", "限制开发区")]
    assert [(z["scheme"], z["subzone"]) for z in new] == [("2024", "融合发展区")]
    assert new[0]["verdict"] == "needs_approval" and "备案" in new[0]["needs_approval_by"]
    boundary_old = zone_hits(post(client, auth, {"geometry": point, "date": "2024-08-31"}).json())
    boundary_new = zone_hits(post(client, auth, {"geometry": point, "date": "2024-09-01"}).json())
    assert boundary_old[0]["scheme"] == "2010-2030" and boundary_new[0]["scheme"] == "2024"


def test_before_any_scheme_nothing_is_in_force(client, auth, zones: ScreeningZones) -> None:
    answer = post(client, auth, {"geometry": shapely.geometry.mapping(metric_point(0, 0)), "date": "2010-01-01"})
    green = next(e for e in answer.json()["layers"] if e["layer"] == "green_heart")
    assert green["zones"] == [] and green["verdict"] == "outside" and "no zones" in green["note"]


def test_overlap_and_distance_match_shapely_pyproj(client, auth, zones: ScreeningZones) -> None:
    site = metric_box(2000, -1000, 5000, 1000)  # straddles the circle edge and the 限制开发区 box
    answer = post(client, auth, {"geometry": shapely.geometry.mapping(site), "date": "2018-06-01"}).json()
    by_key = {z["zone_key"]: z for z in zone_hits(answer)}
    site_m = to_4547(site)
    for key, zone in (("t7-old-prohibited", zones.core), ("t7-old-restricted", zones.restricted)):
        expected = site_m.intersection(to_4547(zone)).area
        got = by_key[key]
        assert abs(got["overlap_m2"] - expected) / expected < 0.005, (key, got["overlap_m2"], expected)
        assert abs(got["overlap_pct"] - 100 * expected / site_m.area) < 0.5
    assert abs(answer["input"]["area_m2"] - site_m.area) / site_m.area < 0.005

    far = metric_box(-2500, 4000, -1500, 5000)  # north-west of the circle, outside
    answer = post(client, auth, {"geometry": shapely.geometry.mapping(far), "date": "2018-06-01", "buffer_m": 2000})
    [near] = [z for z in zone_hits(answer.json()) if z["zone_key"] == "t7-old-prohibited"]
    expected = to_4547(far).distance(to_4547(zones.core))
    assert near["inside"] is False and near["verdict"] == "outside"
    assert abs(near["distance_m"] - expected) / expected < 0.005, (near["distance_m"], expected)
    assert answer.json()["verdict"] == "outside"


def test_buffer_lists_zones_only_within_it(client, auth, zones: ScreeningZones) -> None:
    point = shapely.geometry.mapping(metric_point(0, 3500))  # 500 m north of the circle
    without = zone_hits(post(client, auth, {"geometry": point, "date": "2018-06-01"}).json())
    within = zone_hits(post(client, auth, {"geometry": point, "date": "2018-06-01", "buffer_m": 600}).json())
    assert without == []
    assert [(z["zone_key"], z["inside"]) for z in within] == [("t7-old-prohibited", False)]
    assert abs(within[0]["distance_m"] - 500) < 2.5


def test_gcj02_bd09_and_4547_inputs_give_the_wgs84_answer(client, auth, zones: ScreeningZones) -> None:
    point = metric_point(0, 3400)  # 400 m outside: the 600 m GCJ offset would change everything
    wgs = zone_hits(post(client, auth, {"geometry": shapely.geometry.mapping(point), "buffer_m": 1000}).json())
    for crs, convert in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        x, y = convert(point.x, point.y)
        got = zone_hits(
            post(
                client, auth, {"geometry": {"type": "Point", "coordinates": [x, y]}, "crs": crs, "buffer_m": 1000}
            ).json()
        )
        assert [z["zone_key"] for z in got] == [z["zone_key"] for z in wgs], crs
        assert [z["verdict"] for z in got] == [z["verdict"] for z in wgs], crs
        assert abs(got[0]["distance_m"] - wgs[0]["distance_m"]) < 0.01, crs
    site = metric_box(2000, -1000, 5000, 1000)
    wgs = zone_hits(post(client, auth, {"geometry": shapely.geometry.mapping(site)}).json())
    in_metres = zone_hits(post(client, auth, {"wkt": to_4547(site).wkt, "crs": "EPSG:4547"}).json())
    cgcs = zone_hits(post(client, auth, {"wkt": site.wkt, "crs": "EPSG:4490"}).json())
    for got in (in_metres, cgcs):
        assert [z["zone_key"] for z in got] == [z["zone_key"] for z in wgs]
        for a, b in zip(got, wgs, strict=True):
            assert abs(a["overlap_m2"] - b["overlap_m2"]) / b["overlap_m2"] < 1e-4


def test_anonymous_and_viewers_may_not_screen(client, auth, zones: ScreeningZones) -> None:
    body = {"geometry": shapely.geometry.mapping(metric_point(0, 0))}
    assert client.post("/screening", json=body).status_code == 401
    assert post(client, auth, body, role="viewer").status_code == 403
    assert post(client, auth, body, role="editor").status_code == 403
    assert post(client, auth, body, role="admin").status_code == 201
    assert client.get("/screenings").status_code == 401


def test_list_screenings(client, auth, zones: ScreeningZones) -> None:
    answer = post(client, auth, {"geometry": shapely.geometry.mapping(metric_point(0, 0)), "date": "2025-03-01"})
    listed = client.get("/screenings?limit=5", headers=auth["inspector"]).json()
    first = listed["screenings"][0]
    assert first["id"] == answer.json()["id"] and first["actor"] == "test-inspector"
    assert first["verdict"] == "prohibited" and first["hits"][0]["subzone"] == "核心保护区"
    assert len(first["input_hash"]) == 64
    only = client.get("/screenings?verdict=prohibited&limit=1000", headers=auth["inspector"]).json()["screenings"]
    assert all(s["verdict"] == "prohibited" for s in only)
    assert client.get("/screenings?verdict=maybe", headers=auth["inspector"]).status_code == 400
