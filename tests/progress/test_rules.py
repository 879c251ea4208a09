"""The reporting rules (decision 0200) on every path: the API, ``xiangmap progress import`` (CSV and XLSX),
and the percent read the same way whether written 80%, 80 or 0.8 or kept by Excel as a 0%-formatted 0.8."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app
from service.progress.rules import current_month, fall_problem, period_problems
from tests.progress.world import World, build_world, drop_world


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    built = build_world(engine, "rules")
    yield built
    drop_world(engine, built)


def percents(engine: Engine, project_id: int) -> list[tuple[str, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT to_char(period, 'YYYY-MM'), percent::float FROM progress_reports"
                " WHERE project_id = :p ORDER BY period, id"
            ),
            {"p": project_id},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def post(client, auth, project_id: int, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/projects/{project_id}/progress", json=body, headers=auth["coordinator"])


# --- the rules as functions -----------------------------------------------------------------------


def test_the_current_month_is_chinas() -> None:
    assert current_month(date(2026, 12, 31)) == date(2026, 12, 1)
    assert period_problems(date(2026, 12, 1), 2018, today=date(2026, 12, 1)) == []
    (future,) = period_problems(date(2027, 1, 1), 2018, today=date(2026, 12, 31))
    assert future.field == "period" and "2027-01" in future.zh and "after the current month" in future.en
    (early,) = period_problems(date(2017, 12, 1), 2018, today=date(2026, 12, 31))
    assert early.field == "period" and "2018" in early.zh and "before January" in early.en


def test_a_fall_needs_a_note_a_rise_or_an_equal_does_not() -> None:
    before = {"period": "2018-03", "percent": 60.0}
    fall = fall_problem(before, 50.0, None)
    assert fall is not None and fall.field == "note" and "说明进度回落的原因" in fall.zh and "60" in fall.en
    assert fall_problem(before, 50.0, "设计变更，部分工程返工") is None
    assert fall_problem(before, 60.0, None) is None and fall_problem(before, 70.0, None) is None
    assert fall_problem(None, 0.0, None) is None


# --- the API ----------------------------------------------------------------------------------------


def test_api_refuses_a_future_month_naming_the_period(client, auth, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    month = current_month()
    future = date(month.year + (month.month == 12), month.month % 12 + 1, 1).strftime("%Y-%m")
    r = post(client, auth, world.ids["point"], period=future, status="推进中", percent=10)
    assert r.status_code == 400, r.text
    assert r.json()["pointer"] == "/period" and "不能填报未来的月份" in r.json()["detail"]
    assert "after the current month" in r.json()["detail"]
    assert percents(engine, world.ids["point"]) == []  # nothing stored


def test_api_refuses_a_month_before_the_plan_year(client, auth, world: World) -> None:  # type: ignore[no-untyped-def]
    r = post(client, auth, world.ids["point"], period="2017-12", status="推进中", percent=10)
    assert r.status_code == 400 and r.json()["pointer"] == "/period"
    assert "早于计划年度 2018 年 1 月" in r.json()["detail"]


def test_api_a_fall_without_a_note_is_refused_with_a_note_accepted(client, auth, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    pid = world.ids["area"]
    assert post(client, auth, pid, period="2018-02", status="推进中", percent=60).status_code == 201
    refused = post(client, auth, pid, period="2018-03", status="推进中", percent=45)
    assert refused.status_code == 400 and refused.json()["pointer"] == "/note"
    assert (
        "说明进度回落的原因" in refused.json()["detail"] and "fell from 60 (2018-02) to 45" in refused.json()["detail"]
    )
    blank = post(client, auth, pid, period="2018-03", status="推进中", percent=45, note="   ")
    assert blank.status_code == 400  # white space is no note
    accepted = post(client, auth, pid, period="2018-03", status="推进中", percent=45, note="核减了部分工程量")
    assert accepted.status_code == 201, accepted.text
    # a correction of an earlier month is compared with the month before it, not with later months
    assert post(client, auth, pid, period="2018-02", status="推进中", percent=65).status_code == 201
    assert percents(engine, pid) == [("2018-02", 60.0), ("2018-02", 65.0), ("2018-03", 45.0)]


def test_api_percent_written_three_ways(client, auth, world: World, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    pid = world.ids["city"]
    for period, written in (("2018-04", "80%"), ("2018-05", 0.8), ("2018-06", 80)):
        r = post(client, auth, pid, period=period, status="推进中", percent=written)
        assert r.status_code == 201, r.text
    assert [p for _, p in percents(engine, pid)] == [80.0, 80.0, 80.0]


# --- the importer -------------------------------------------------------------------------------------


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["progress", "import", *args])


def test_xlsx_percent_column_formatted_as_percent_imports_as_percent(
    world: World, engine: Engine, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["项目编号", "月份", "状态", "完成比例", "进展情况"])
    sheet.append([f"{world.plan}/line", "2018-07", "推进中", 0.8, "路面施工"])  # Excel keeps 80 % as 0.8
    sheet.append([f"{world.plan}/nowhere", "2018-07", "推进中", 0.005, ""])  # shown as 1 % (0.5 %)
    sheet.append([f"{world.plan}/point", "2018-07", "已完成", 1, ""])  # 100 %
    for row in (2, 3, 4):
        sheet.cell(row, 4).number_format = "0%"
    path = tmp_path / "percent.xlsx"
    book.save(path)
    result = run(str(path), "--actor", "test-rules")
    assert result.exit_code == 0, result.output
    assert percents(engine, world.ids["line"]) == [("2018-07", 80.0)]
    assert percents(engine, world.ids["nowhere"]) == [("2018-07", 0.5)]
    assert percents(engine, world.ids["point"]) == [("2018-07", 100.0)]


def test_csv_percent_text_rules_and_the_rules_refuse_rows(world: World, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text(
        "项目编号,月份,状态,完成比例,进展情况,滞后原因\n"
        f"{world.plan}/line,2018-08,推进中,85%,,\n"
        f"{world.plan}/nowhere,2018-08,滞后,0.5%,,资金未到位\n",
        encoding="utf-8",
    )
    result = run(str(path), "--actor", "test-rules")
    assert result.exit_code == 0, result.output
    assert percents(engine, world.ids["line"])[-1] == ("2018-08", 85.0)
    assert percents(engine, world.ids["nowhere"])[-1] == ("2018-08", 0.5)  # 0.5% is half a percent, not 50
    with engine.connect() as conn:
        reason = conn.execute(
            text("SELECT behind_reason FROM progress_reports WHERE project_id = :p AND period = '2018-08-01'"),
            {"p": world.ids["nowhere"]},
        ).scalar_one()
    assert reason == "资金未到位"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "项目编号,月份,状态,完成比例,进展情况\n"
        f"{world.plan}/line,2018-09,推进中,0.6,\n"  # 60 after 85: a fall without a note
        f"{world.plan}/line,2099-01,推进中,90,\n",  # the future
        encoding="utf-8",
    )
    result = run(str(bad), "--actor", "test-rules")
    assert result.exit_code == 1
    assert "row 2, column note: 完成比例从 2018-08 的 85% 降到 60%" in result.output
    assert "row 3, column period: 报告月份 2099-01 在本月" in result.output
    assert percents(engine, world.ids["line"])[-1] == ("2018-08", 85.0)  # nothing written
