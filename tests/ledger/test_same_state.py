"""The ledger derives its state in its own query (decision 0210: one index probe a task, spatial progress for
the rows shown), from the rules of service.common.derived_status; here it must give, task by task and month by
month, exactly what the state query of /stats and the maps gives: status, reported status, percent, period,
note, delay reason, overdue and spatial progress, including a same-month correction, a report after the month
and a built part drawn in an earlier report than the latest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from service.database import session_scope
from service.ledger import usecases
from service.ledger.filters import LedgerFilters
from service.progress import usecases as progress
from service.settings import get_settings
from tests.progress.world import World, box, build_world, drop_world, geojson, post_reports

MONTHS = ["2018-02", "2018-04", "2018-05", "2018-06", "2018-08", "2019-03"]
FIELDS = ("status", "reported_status", "percent", "period", "note", "delay_reason", "overdue", "spatial_progress")


@pytest.fixture(scope="module")
def world(engine: Engine, client, auth) -> Iterator[World]:  # type: ignore[no-untyped-def]
    built = build_world(engine, "lstate")
    line = [(1000, 2000), (1400, 2000)]
    post_reports(
        client,
        auth,
        built.ids["line"],
        [
            {"period": "2018-04", "status": "推进中", "percent": 40, "done_geom": geojson(LineString(line))},
            {"period": "2018-06", "status": "暂停", "percent": 40, "note": "征拆受阻"},  # no geometry: April's holds
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["area"],
        [
            {"period": "2018-04", "status": "滞后", "percent": 20, "done_geom": geojson(box(6500, 1000, 7100, 1500))},
            {"period": "2018-04", "status": "推进中", "percent": 35, "note": "更正"},  # the same month: a correction
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["point"],
        [
            {"period": "2018-03", "status": "推进中", "percent": 30},
            {"period": "2018-07", "status": "已完成", "percent": 100},
        ],
    )
    yield built
    drop_world(engine, built)


def _round(value: object) -> object:
    return round(value, 9) if isinstance(value, float) else value


@pytest.mark.parametrize("month", MONTHS)
def test_ledger_state_is_the_state_query(world: World, month: str) -> None:
    as_of = progress.parse_as_of(month)
    with session_scope() as session:
        ledger = {r["id"]: r for r in usecases.ledger_rows(session, LedgerFilters(plan=world.plan), as_of)}
        sql, params = progress.state_query(
            as_of, get_settings().delay_threshold_pct, progress.ProjectFilter(plan=world.plan), spatial=True
        )
        progress.tune_for_state_queries(session)
        state = {r["project_id"]: dict(r) for r in session.execute(text(sql), params).mappings()}
    assert set(ledger) == set(state) == set(world.ids.values())
    for pid, expected in state.items():
        got = {f: _round(ledger[pid][f]) for f in FIELDS}
        assert got == {f: _round(expected[f]) for f in FIELDS}, (world.ids, pid, month)
    if month == "2018-06":  # the figures are not all empty: the rules and the measure were really exercised
        line, area = ledger[world.ids["line"]], ledger[world.ids["area"]]
        assert (line["status"], round(line["spatial_progress"], 3)) == ("暂停", 0.4)
        assert (area["percent"], area["note"], round(area["spatial_progress"], 3)) == (35.0, "更正", 0.5)


def test_page_rows_and_count_agree_with_every_row(world: World) -> None:
    """A page is the first rows of the whole answer, in the same order, and counts every match."""
    as_of = date(2018, 6, 30)
    with session_scope() as session:
        every = usecases.ledger_rows(session, LedgerFilters(plan=world.plan), as_of)
        first = usecases.ledger_rows(session, LedgerFilters(plan=world.plan), as_of, limit=2)
    assert [r["id"] for r in first] == [r["id"] for r in every[:2]]
    assert {r["total"] for r in first} == {len(every)} == {len(world.ids)}
    assert [{f: _round(r[f]) for f in FIELDS} for r in first] == [{f: _round(r[f]) for f in FIELDS} for r in every[:2]]
