"""GET /cases/figures(.json): violations per city and per km² of the Green Heart in that city (checked against
an independent shapely / pyproj computation of the area), by unit, time to close; who sees what."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely import wkb
from sqlalchemy import Engine, text

from tests.case_reports.conftest import CST, TAG, CaseWorld, add_event, insert_case, point_in, remove_cases

CITIES = ("长沙市", "株洲市", "湘潭市")


def green_heart_km2_by_shapely(engine: Engine, on: date) -> dict[str, float]:
    """The same area, computed outside PostGIS: the zones in force on ``on`` unioned, each city's districts
    unioned, both projected with pyproj to EPSG:4547, intersected and measured with shapely."""
    to_metres = Transformer.from_crs(4326, 4547, always_xy=True)

    def metric(raw: bytes) -> shapely.Geometry:
        return shapely.make_valid(shapely.transform(wkb.loads(bytes(raw)), to_metres.transform, interleaved=False))

    with engine.connect() as conn:
        zones = conn.execute(
            text(
                "SELECT ST_AsBinary(geom) FROM green_heart"
                " WHERE valid_from <= :on AND (valid_to IS NULL OR :on <= valid_to)"
            ),
            {"on": on},
        ).scalars()
        heart = shapely.union_all([metric(z) for z in zones])
        out = {}
        for city in CITIES:
            parts = conn.execute(text("SELECT ST_AsBinary(geom) FROM districts WHERE city = :c"), {"c": city}).scalars()
            out[city] = shapely.intersection(shapely.union_all([metric(p) for p in parts]), heart).area / 1e6
    return out


def figures(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get("/cases/figures.json", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def year_row(data: dict[str, Any], year: int) -> dict[str, dict[str, Any]]:
    period = next(p for p in data["violations"]["by_year"] if p["period"] == str(year))
    return {c["city"]: c for c in period["cities"]}


@pytest.fixture
def violations_2016(engine: Engine, owner_engine: Engine, world: CaseWorld):  # type: ignore[no-untyped-def]
    """Two violations in 长沙 and one in 株洲 in 2016, plus a withdrawn one and a patrol finding (neither counts)."""
    ids = []
    rows = [
        ("违法违规", "长沙市", date(2016, 3, 5), "登记"),
        ("违法违规", "长沙市", date(2016, 7, 9), "整改中"),
        ("违法违规", "株洲市", date(2016, 7, 20), "登记"),
        ("违法违规", "湘潭市", date(2016, 7, 21), "撤销"),
        ("巡查发现", "湘潭市", date(2016, 7, 22), "登记"),
    ]
    with engine.begin() as conn:
        for n, (kind, city, found, status) in enumerate(rows):
            ids.append(
                insert_case(
                    conn,
                    number=f"测〔2016〕{TAG}-{n}",
                    kind=kind,
                    title="年度统计",
                    wkt=point_in(conn, city),
                    city=city,
                    found_on=found,
                    status=status,
                )
            )
    yield ids
    remove_cases(owner_engine, ids)


def test_violations_per_km2_of_the_green_heart_per_city(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, world: CaseWorld, violations_2016: list[int]
) -> None:
    with_them = figures(client, auth["inspector"], year=2016, as_of="2016-12-31")
    remove_cases_ids = violations_2016
    # the counts, by difference from the same figures without the fixture's rows (other tests may add cases)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET kind = '督察问题' WHERE id = ANY(:ids)"), {"ids": remove_cases_ids})
    without = figures(client, auth["inspector"], year=2016, as_of="2016-12-31")
    added = {c: year_row(with_them, 2016)[c]["violations"] - year_row(without, 2016)[c]["violations"] for c in CITIES}
    assert added == {"长沙市": 2, "株洲市": 1, "湘潭市": 0}  # the withdrawn one and the patrol finding do not count
    month = next(p for p in with_them["violations"]["by_month"] if p["period"] == "2016-07")
    month_without = next(p for p in without["violations"]["by_month"] if p["period"] == "2016-07")
    assert [
        a["violations"] - b["violations"] for a, b in zip(month["cities"], month_without["cities"], strict=True)
    ] == [
        1,
        1,
        0,
    ]

    expected = green_heart_km2_by_shapely(engine, date(2016, 12, 31))  # the 2010-2030 scheme then
    row = year_row(with_them, 2016)
    for city in CITIES:
        assert row[city]["green_heart_km2"] == pytest.approx(expected[city], rel=2e-3), city
        assert expected[city] > 1  # each city holds part of the Green Heart
        assert row[city]["per_km2"] == pytest.approx(row[city]["violations"] / expected[city], rel=2e-3)
        assert row[city]["per_100km2"] == pytest.approx(row[city]["per_km2"] * 100)
    lowest = min(row[c]["per_km2"] for c in CITIES)
    assert {c for c in CITIES if row[c]["lowest"]} == {c for c in CITIES if row[c]["per_km2"] == lowest}
    assert next(p for p in with_them["violations"]["by_year"] if p["period"] == "2016")["lowest"] == [
        c for c in CITIES if row[c]["lowest"]
    ]


def test_the_green_heart_of_a_period_is_the_scheme_then_in_force(
    client: TestClient, auth: dict[str, dict[str, str]], engine: Engine, world: CaseWorld
) -> None:
    data = figures(client, auth["inspector"], year=2025, as_of="2025-06-30")
    expected = green_heart_km2_by_shapely(engine, date(2025, 6, 30))  # the 2024 scheme
    june = next(p for p in data["violations"]["by_month"] if p["period"] == "2025-06")
    for city in june["cities"]:
        assert city["green_heart_km2"] == pytest.approx(expected[city["city"]], rel=2e-3)
    assert [p["period"] for p in data["violations"]["by_month"]] == [f"2025-{m:02d}" for m in range(1, 7)]
    assert [p["period"] for p in data["violations"]["by_year"]] == [str(y) for y in range(2021, 2026)]


def test_open_overdue_closed_by_unit_and_time_to_close(
    client: TestClient, auth: dict[str, dict[str, str]], world: CaseWorld
) -> None:
    data = figures(client, auth["inspector"], as_of="2025-05-20")
    units = {u["unit_id"]: u for u in data["by_unit"]}
    shifeng, luosong = units[world.units["shifeng"]], units[world.units["luosong"]]
    # at least the world's cases (other tests may hold more in these units)
    assert shifeng["closed"] >= 1 and shifeng["open"] >= 1 and shifeng["overdue"] >= 1
    assert luosong["withdrawn"] >= 1 and luosong["open"] >= 1
    closed = {u["unit_id"]: u for u in data["time_to_close"]["by_unit"]}
    if closed[world.units["shifeng"]]["closed"] == 1:  # only the world's case: 2025-03-01 → 2025-05-10
        assert closed[world.units["shifeng"]]["median_days"] == 70
        assert closed[world.units["shifeng"]]["mean_days"] == 70
    assert any(k["kind"] == "违法违规" and k["closed"] >= 1 for k in data["time_to_close"]["by_kind"])
    before = figures(client, auth["inspector"], as_of="2025-05-09")  # the day before its 销号
    assert {u["unit_id"]: u for u in before["by_unit"]}[world.units["shifeng"]]["closed"] == shifeng["closed"] - 1


def test_an_editor_counts_only_their_units_cases(
    editor_browser: TestClient, world: CaseWorld, client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    data = editor_browser.get("/cases/figures.json", params={"as_of": "2025-05-20"}).json()
    assert {u["unit_id"] for u in data["by_unit"]} == {world.units["shifeng"]}
    assert "株洲市石峰区人民政府" in data["scope"]
    everyone = figures(client, auth["inspector"], as_of="2025-05-20")
    assert world.units["luosong"] in {u["unit_id"] for u in everyone["by_unit"]}


def test_the_page_draws_the_chart_and_marks_the_lowest(inspector_browser: TestClient, world: CaseWorld) -> None:
    page = inspector_browser.get("/cases/figures", params={"year": "2025", "as_of": "2025-05-20"})
    assert page.status_code == 200
    assert page.text.count("<svg") == 2 and "违法违规行为发生率" in page.text
    assert "三市最低" in page.text and "绿心 km²" in page.text


@pytest.mark.parametrize(("params", "word"), [({"year": "20x5"}, "年度"), ({"as_of": "yesterday"}, "截至日期")])
def test_bad_parameters_are_a_400(
    client: TestClient, auth: dict[str, dict[str, str]], params: dict[str, str], word: str
) -> None:
    r = client.get("/cases/figures.json", params=params, headers=auth["inspector"])
    assert r.status_code == 400 and word in r.json()["detail"]


def test_a_case_closed_on_a_day_counts_from_that_day(engine: Engine, owner_engine: Engine, world: CaseWorld) -> None:
    """The as-of status comes from the timeline: the same case, open on one day, closed on the next."""
    from service.case_reports.figures import by_unit
    from service.case_reports.scope import Reader
    from service.database import session_scope

    with engine.begin() as conn:
        case_id = insert_case(
            conn,
            number=f"测〔时间线〕{TAG}",
            kind="巡查发现",
            title="时间线",
            wkt=point_in(conn, "株洲市"),
            city="株洲市",
            found_on=date(2024, 1, 1),
            responsible_unit_id=world.units["luosong"],
            deadline=date(2024, 2, 1),
            status="销号",
            closed_at=datetime(2024, 3, 1, 23, 30, tzinfo=CST),
        )
        add_event(conn, case_id, "登记", date(2024, 1, 1), "register", None)
        conn.execute(
            text(
                "INSERT INTO case_events (case_id, action, from_status, to_status, actor, at)"
                " VALUES (:c, 'accept', '申请销号', '销号', 'x', :at)"
            ),
            {"c": case_id, "at": datetime(2024, 3, 1, 23, 30, tzinfo=CST)},  # 15:30 UTC: still 03-01 in China
        )
    try:
        with session_scope() as session:
            reader = Reader(world.inspector.name, "inspector")
            on_day = {u["unit_id"]: u for u in by_unit(session, reader, date(2024, 3, 1))}[world.units["luosong"]]
            before = {u["unit_id"]: u for u in by_unit(session, reader, date(2024, 2, 29))}[world.units["luosong"]]
        assert on_day["closed"] == before["closed"] + 1
        assert before["overdue"] == on_day["overdue"] + 1
    finally:
        remove_cases(owner_engine, [case_id])
