"""The ledger's rows: plan order, each filter narrowing to exactly the tasks it names, the month it is as of."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from service.database import session_scope
from service.ledger import usecases
from service.ledger.filters import LedgerFilters
from tests.ledger.conftest import PLAN_ORDER, LedgerWorld

MARCH = date(2018, 3, 31)


def keys(world: LedgerWorld, as_of: date = MARCH, **filters: object) -> list[str]:
    with session_scope() as session:
        rows = usecases.ledger_rows(session, LedgerFilters(plan=world.plan, **filters), as_of)  # type: ignore[arg-type]
    return [world.key_of(r["id"]) for r in rows]


def test_plan_order_sections_then_numbers_as_numbers(world: LedgerWorld) -> None:
    assert keys(world) == PLAN_ORDER  # 3 before 10, though "10" < "3" as text


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"category": "生态"}, ["t3", "t10"]),
        ({"status": "已完成"}, ["t2"]),
        ({"status": "正常推进"}, ["t1"]),
        ({"status": "已开工进展缓慢"}, ["t10"]),
        ({"status": "应开工未开工"}, ["t3"]),
        ({"year": 2018}, PLAN_ORDER),
        ({"year": 2019}, []),
        ({"q": "湘江"}, ["t1"]),
        ({"q": "市发改委"}, ["t2"]),  # a lead unit
        ({"q": "芦淞区"}, ["t1"]),  # a responsible unit
        ({"q": "100%"}, []),  # a wildcard in the text is a character, not a wildcard
        ({"overdue": False}, PLAN_ORDER),
    ],
)
def test_each_filter_narrows(world: LedgerWorld, filters: dict, expected: list[str]) -> None:
    assert keys(world, **filters) == expected


def test_district_filter_by_name_and_adcode(world: LedgerWorld) -> None:
    assert keys(world, district=world.district) == ["t10"]
    with session_scope() as session:
        adcode = session.execute(
            text("SELECT adcode FROM districts WHERE name = :n"), {"n": world.district}
        ).scalar_one()
    assert keys(world, district=adcode) == ["t10"]


def test_unit_filter_lead_or_responsible(world: LedgerWorld) -> None:
    assert keys(world, unit=world.units["shifeng"]) == ["t10"]  # responsible for t10
    assert keys(world, unit=world.units["luosong"]) == ["t1"]
    assert keys(world, unit=0) == PLAN_ORDER  # 全部单位


def test_as_of_changes_the_derived_status(world: LedgerWorld) -> None:
    def state(as_of: date) -> dict[str, tuple[str, bool, str | None]]:
        with session_scope() as session:
            rows = usecases.ledger_rows(session, LedgerFilters(plan=world.plan), as_of)
        return {world.key_of(r["id"]): (r["status"], r["overdue"], r["delay_reason"]) for r in rows}

    january, march, july = state(date(2018, 1, 31)), state(MARCH), state(date(2018, 7, 31))
    assert january["t1"] == ("正常推进", False, None)  # no report yet, no milestone due
    assert march["t1"] == ("正常推进", False, None)
    assert january["t10"] == ("正常推进", False, None)
    assert march["t10"] == ("已开工进展缓慢", False, "behind_milestone")  # 10 % done, 50 % due by 15 March
    assert july["t10"] == ("已开工进展缓慢", True, "deadline_passed")
    assert (january["t3"], march["t3"]) == (("正常推进", False, None), ("应开工未开工", False, "not_started"))
    assert keys(world, as_of=date(2018, 7, 31), overdue=True) == ["t10"]
    assert march["t2"] == july["t2"] == ("已完成", False, None)


def test_the_row_carries_what_the_ledger_shows(world: LedgerWorld) -> None:
    with session_scope() as session:
        rows = usecases.ledger_rows(session, LedgerFilters(plan=world.plan, q="湘江"), MARCH)
    (row,) = rows
    assert row["number"] == "1" and row["section"] == "一、改革"
    assert row["lead_units"] == ["市环保局"] and row["responsible_units"] == ["芦淞区人民政府"]
    assert row["percent"] == 50.0 and row["note"] == "已完成清淤" and row["period"] == date(2018, 3, 1)
    assert row["deadline"] is None and row["total"] == 1
