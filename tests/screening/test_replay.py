"""A record keeps what it saw: it replays unchanged after a layer edit, and recheck says what moved."""

from __future__ import annotations

import shapely
from sqlalchemy import text

from tests.screening.conftest import ScreeningZones, metric_box, metric_circle


def test_record_replays_unchanged_after_a_layer_edit(client, auth, engine, zones: ScreeningZones) -> None:
    site = shapely.geometry.mapping(metric_box(2000, -500, 2900, 500))  # inside the r=3 km circle
    body = {"geometry": site, "date": "2018-06-01"}
    before = client.post("/screening", json=body, headers=auth["inspector"]).json()
    [hit] = [z for e in before["layers"] for z in e["zones"] if z["zone_key"] == "t7-old-prohibited"]
    assert hit["inside"] and hit["overlap_pct"] == 100
    with_map = client.get(f"/screenings/{before['id']}?include_map=true", headers=auth["inspector"]).json()
    assert with_map["map"]["green_heart/t7-old-prohibited"]["zone"]

    shrunk = metric_circle(1500, 4000)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE green_heart SET geom = ST_Multi(ST_GeomFromText(:wkt, 4326)) WHERE key = :key"),
                {"wkt": shrunk.wkt, "key": "t7-old-prohibited"},
            )
        now = client.post("/screening", json=body, headers=auth["inspector"]).json()
        assert not [z for e in now["layers"] for z in e["zones"] if z["zone_key"] == "t7-old-prohibited"]

        replay = client.get(f"/screenings/{before['id']}", headers=auth["inspector"]).json()
        # the shared link is signed afresh on every answer (its expiry counts from now, in whole seconds),
        # so two answers a second apart differ there; the record itself must not differ at all
        shared_then, shared_now = before["links"].pop("map_shared"), replay["links"].pop("map_shared")
        assert shared_then.split("?")[0] == shared_now.split("?")[0]
        assert replay == before
        again = client.get(f"/screenings/{before['id']}?include_map=true", headers=auth["inspector"]).json()
        assert again["map"] == with_map["map"]
        assert client.get(f"/maps/screening/{before['id']}", headers=auth["inspector"]).status_code == 200

        check = client.get(f"/screenings/{before['id']}/recheck", headers=auth["inspector"]).json()
        assert check["changed"] is True and check["recorded_verdict"] == "prohibited"
        assert check["differences"][0]["zone"] == "green_heart/t7-old-prohibited"
        assert check["differences"][0]["now"] is None
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE green_heart SET geom = ST_Multi(ST_GeomFromText(:wkt, 4326)) WHERE key = :key"),
                {"wkt": zones.core.wkt, "key": "t7-old-prohibited"},
            )


def test_zone_parts_follow_layer_edits(engine, zones: ScreeningZones) -> None:
    """The trigger re-cuts an edited zone; a 12 000-vertex circle becomes parts of at most 256 vertices."""
    with engine.connect() as conn:
        parts = conn.execute(
            text("SELECT count(*), max(ST_NPoints(geom)) FROM screening_zone_parts WHERE zone_key = 't7-new-core'")
        ).one()
        assert parts[0] > 40 and parts[1] <= 256
        area = conn.execute(
            text(
                "SELECT abs(sum(ST_Area(p.geom::geography)) - (SELECT ST_Area(geom::geography) FROM green_heart "
                "WHERE key = 't7-new-core')) FROM screening_zone_parts p WHERE zone_key = 't7-new-core'"
            )
        ).scalar()
        assert area < 1.0
        conn.execute(text("UPDATE layer_catalogue SET protected = false WHERE id = 'qingshuitang'"))
        assert (
            conn.execute(text("SELECT count(*) FROM screening_zone_parts WHERE layer = 'qingshuitang'")).scalar() == 0
        )
        conn.execute(text("UPDATE layer_catalogue SET protected = true WHERE id = 'qingshuitang'"))
        assert conn.execute(text("SELECT count(*) FROM screening_zone_parts WHERE layer = 'qingshuitang'")).scalar() > 0
        conn.rollback()
