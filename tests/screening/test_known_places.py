"""Known places against the bundled layers (geodata/layers/): 昭山, 株洲火车站, 株冶 (PRODUCT.md positions)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

ZHAOSHAN = [113.0171, 27.9739]
ZHUZHOU_STATION = [113.1517, 27.8381]
ZHUYE = [113.062, 27.870]


@pytest.fixture(scope="module", autouse=True)
def bundled(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM screening_zone_parts WHERE zone_key NOT LIKE 't7-%'")).scalar()
    if not n:
        pytest.skip("the bundled protected layers are not loaded")


def screen(client, auth, coords, on: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(
        "/screening", json={"geometry": {"type": "Point", "coordinates": coords}, "date": on}, headers=auth["inspector"]
    )
    assert r.status_code == 201, r.text
    return r.json()


def inside(answer: dict, layer: str) -> list[dict]:
    return [z for e in answer["layers"] if e["layer"] == layer for z in e["zones"] if z["inside"]]


@pytest.mark.parametrize(("on", "scheme"), [("2018-06-01", "2010-2030"), ("2025-06-01", "2024")])
def test_zhaoshan_is_in_the_green_heart_under_both_schemes(client, auth, on: str, scheme: str) -> None:
    hits = inside(screen(client, auth, ZHAOSHAN, on), "green_heart")
    assert len(hits) == 1, hits
    assert hits[0]["scheme"] == scheme and hits[0]["verdict"] != "outside"


def test_zhuzhou_station_is_outside_every_zone(client, auth) -> None:
    for on in ("2018-06-01", "2025-06-01"):
        answer = screen(client, auth, ZHUZHOU_STATION, on)
        assert answer["verdict"] == "outside" and not answer["flagged"]
        assert all(not e["zones"] for e in answer["layers"])


def test_zhuye_is_inside_qingshuitang(client, auth) -> None:
    answer = screen(client, auth, ZHUYE, "2018-06-01")
    hits = inside(answer, "qingshuitang")
    assert "清水塘" in {z["name"] for z in hits}
    assert {z["verdict"] for z in hits} == {"needs_approval"}
    industrial = client.post(
        "/screening",
        json={"geometry": {"type": "Point", "coordinates": ZHUYE}, "date": "2019-06-01", "category": "工业项目"},
        headers=auth["inspector"],
    ).json()
    assert industrial["verdict"] == "prohibited"
