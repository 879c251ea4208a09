"""Any layer marked protected in the catalogue is screened; without a rules file it never says 'allowed'."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.screening.site_input import ScreeningInput
from service.screening.verdict import CategoryChoice, screen
from tests.screening.conftest import metric_box, metric_point


def test_a_newly_protected_layer_is_screened_without_code(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:  # everything here is rolled back
        session.execute(
            text(
                "INSERT INTO demo_zones (key, name, source, kind, geom) VALUES "
                "('t7-demo', '测试示范区', 'test', 'zone', ST_Multi(ST_GeomFromText(:wkt, 4326)))"
            ),
            {"wkt": metric_box(-3000, 5000, 3000, 9000).wkt},
        )
        site = ScreeningInput(metric_point(0, 7000), "EPSG:4326", "test")
        before = screen(session, site, date(2025, 1, 1), 0.0, CategoryChoice(None, None, False))
        assert "demo_zones" not in {e["layer"] for e in before["layers"]}

        session.execute(text("UPDATE layer_catalogue SET protected = true WHERE id = 'demo_zones'"))
        after = screen(session, site, date(2025, 1, 1), 0.0, CategoryChoice(None, None, False))
        [demo] = [e for e in after["layers"] if e["layer"] == "demo_zones"]
        [zone] = [z for z in demo["zones"] if z["zone_key"] == "t7-demo"]
        assert zone["inside"] and zone["verdict"] == "needs_approval"
        assert "no screening rules on file" in zone["clause"] and zone["needs_approval_by"]
        session.rollback()


def test_batch_with_unknown_project_ids_is_a_404(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/screening/batch", json={"project_ids": [987654321]}, headers=auth["inspector"])
    assert r.status_code == 404 and "987654321" in r.json()["detail"]
    r = client.post("/screening/batch", json={"buffer_m": -1}, headers=auth["inspector"])
    assert r.status_code == 400
