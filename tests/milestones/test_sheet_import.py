"""A milestone sheet replaces the milestones of the tasks it names; one bad row and nothing is written."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pytest
from sqlalchemy import Engine, text

from service.database import session_scope
from service.milestones.usecases import SheetImportRefused, import_sheet
from tests.progress.world import World, build_world, drop_world


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    built = build_world(engine, "mssheet")
    yield built
    drop_world(engine, built)


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet["D2"].number_format = "0%"  # 0.05 shown as 5 %
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stored(engine: Engine, project_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT name, due::text, planned_percent::float, starts_work, source FROM task_milestones"
                    " WHERE project_id = :id ORDER BY due"
                ),
                {"id": project_id},
            )
        ]


def test_an_xlsx_sheet_in_chinese_headers(world: World, engine: Engine) -> None:
    key = f"{world.plan}/line"
    data = xlsx(
        [
            ["项目编号", "节点", "日期", "计划比例", "须已开工"],
            [key, "开工", "2018-03-31", 0.05, "是"],
            [key, "竣工验收", "2018-12-31", "100%", ""],
        ]
    )
    with session_scope() as session:
        assert import_sheet(session, "节点.xlsx", data, "test") == {"tasks": 1, "milestones": 2}
    assert stored(engine, world.ids["line"]) == [
        ("开工", "2018-03-31", 5.0, True, "sheet"),
        ("竣工验收", "2018-12-31", 100.0, False, "sheet"),
    ]


def test_one_bad_row_writes_nothing_and_names_the_row(world: World, engine: Engine) -> None:
    csv = (
        "project_key,name,due,planned_percent\n"
        f"{world.plan}/point,开工,2018-02-01,5\n"
        f"{world.plan}/line,主体完工,2018-13-01,80\n"
        "nobody/none,开工,2018-02-01,5\n"
    ).encode()
    with session_scope() as session, pytest.raises(SheetImportRefused) as refused:
        import_sheet(session, "m.csv", csv, "test")
    assert "row 3" in str(refused.value) and "row 4" in str(refused.value)
    assert stored(engine, world.ids["point"]) == []
    assert len(stored(engine, world.ids["line"])) == 2  # the earlier import is kept
