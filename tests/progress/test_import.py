"""``xiangmap progress import``: good files append reports; bad rows are named by row and column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from shapely.geometry import LineString
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app
from tests.progress.world import World, build_world, drop_world, wgs


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    built = build_world(engine, "import")
    yield built
    drop_world(engine, built)


def reports_of(engine: Engine, project_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT to_char(period, 'YYYY-MM'), status, percent::float, reported_by, done_geom IS NOT NULL"
                    " FROM progress_reports WHERE project_id = :p ORDER BY period, id"
                ),
                {"p": project_id},
            )
        ]


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["progress", "import", *args])


def test_csv_with_chinese_headers_imports(world: World, engine: Engine, tmp_path: Path) -> None:
    line_done = wgs(LineString([(1000, 2000), (1300, 2000)])).wkt
    path = tmp_path / "reports.csv"
    path.write_text(
        "项目编号,月份,状态,完成比例,完成投资（万元）,备注,完成范围\n"
        f'{world.plan}/line,2018年5月,推进中,30,120,路基施工,"{line_done}"\n'
        f"{world.plan}/point,2018-05,完成,100%,80,,\n",
        encoding="gb18030",
    )
    result = run(str(path), "--actor", "test-importer")
    assert result.exit_code == 0, result.output
    assert "2 reports imported" in result.output
    assert reports_of(engine, world.ids["line"]) == [("2018-05", "推进中", 30.0, "test-importer", True)]
    assert reports_of(engine, world.ids["point"]) == [("2018-05", "已完成", 100.0, "test-importer", False)]


def test_a_behind_row_carries_its_reason_category(world: World, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "behind.csv"
    path.write_text(
        f"项目编号,月份,状态,完成比例,滞后原因类别,滞后原因\n{world.plan}/area,2018-06,滞后,10,用地,用地报批未完成\n",
        encoding="utf-8",
    )
    result = run(str(path))
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT behind_category, behind_reason FROM progress_reports WHERE project_id = :p"),
            {"p": world.ids["area"]},
        ).one()
    assert tuple(row) == ("用地", "用地报批未完成")
    bad = tmp_path / "bad-category.csv"
    bad.write_text(
        f"项目编号,月份,状态,完成比例,滞后原因类别\n{world.plan}/area,2018-07,滞后,12,天气\n", encoding="utf-8"
    )
    refused = run(str(bad))
    assert refused.exit_code != 0 and "behind_category" in refused.output


def test_bad_rows_are_named_and_nothing_is_written(world: World, engine: Engine, tmp_path: Path) -> None:
    far_away = wgs(LineString([(1000, 9000), (1300, 9000)])).wkt
    book = Workbook()
    sheet = book.active
    sheet.append(["project_key", "period", "status", "percent", "investment_wan", "note", "done_geom"])
    rows = [
        [f"{world.plan}/area", "2018-06", "推进中", 40, 10, "fine", None],  # row 2: good
        ["t6-nope/none", "2018-06", "推进中", 40, None, None, None],  # row 3: unknown project
        [f"{world.plan}/area", "2018-13", "推进中", 40, None, None, None],  # row 4: bad month
        [f"{world.plan}/area", "2018-07", "快好了", 40, None, None, None],  # row 5: bad status
        [f"{world.plan}/area", "2018-08", "推进中", "四十", None, None, None],  # row 6: not a number
        [f"{world.plan}/line", "2018-08", "推进中", 40, None, None, far_away],  # row 7: off the project
        [f"{world.plan}/area", "2018-06", "推进中", 45, None, None, None],  # row 8: same month as row 2
        [f"{world.plan}/point", "2018-08", "已完成", 90, None, None, None],  # row 9: done needs 100
        [f"{world.plan}/line", "2018-09", "推进中", 50, None, None, "LINESTRING(oops)"],  # row 10: bad WKT
    ]
    for row in rows:
        sheet.append(row)
    path = tmp_path / "reports.xlsx"
    book.save(path)
    before = reports_of(engine, world.ids["area"])
    result = run(str(path))
    assert result.exit_code == 1
    out = result.output
    for expected in (
        "row 3, column project_key: 没有任务“t6-nope/none” / no project 't6-nope/none'",
        "row 4, column period:",
        "row 5, column status:",
        "row 6, column percent: 完成比例“四十”不是数字 / percent '四十' is not a number",
        "row 7, column done_geom: done_geom lies more than 200 m",
        "row 8, column period: 与第 2 行任务和月份相同 / same project and month as row 2",
        "row 9, column row: 状态为已完成时完成比例须为 100%，填的是 90% / status 已完成 (done) needs percent 100",
        "row 10, column done_geom: 既不是 WKT 也不是 GeoJSON / neither WKT nor GeoJSON",
        "nothing imported: 8 problem(s) in 9 rows",
    ):
        assert expected in out, out
    assert reports_of(engine, world.ids["area"]) == before  # all or nothing

    skipped = run(str(path), "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert "1 reports imported; 8 rows skipped" in skipped.output
    assert reports_of(engine, world.ids["area"])[-1][:3] == ("2018-06", "推进中", 40.0)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("r.csv", "period,status,percent\n2018-01,推进中,1\n", "project_key"),
        ("r.csv", "project_key,status\nx,推进中\n", "missing column(s) period, percent"),
        ("r.json", "{}", "unsupported file type"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, name: str, content: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 2 and words in result.output
