"""Spreadsheet import: bad rows reported by row and column, all-or-nothing, --skip-invalid, re-import updates."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app
from service.database import session_scope
from service.projects.importer import ImportRefused, ImportReport
from service.projects.usecases import import_plan

PLAN = "zz-test-import"
HEADER = ["plan", "section", "number", "title", "task_text", "category", "lead_units", "responsible_units",
          "targets", "deadline", "year"]  # fmt: skip
GOOD = [
    [PLAN, "附件3", "1.1", "碧水工程", "完成枫溪港、陈埠港黑臭水体整治", "碧水蓝天", "市住建局", "市环保局、市水务局",
     "", "2018-12-31", "2018"],
    [PLAN, "附件3", "1.2", "碧水工程", "启动河西污水处理厂二期建设", "碧水蓝天", "市住建局", "", "",
     "2018/6/30", "2018"],
    [PLAN, "附件4", "1", "复绿", "完成荒山新造林2000亩以上", "绿心保护", "市林业局", "", "2000 亩", "", "2018"],
]  # fmt: skip
runner = CliRunner()


def import_spreadsheet(engine: Engine, path: Path, *, skip_invalid: bool = False) -> ImportReport:
    """The import use case in a session of its own, without geocoding (as ``--no-geocode``)."""
    with session_scope(engine) as session:
        return import_plan(session, path, skip_invalid=skip_invalid, city="株洲市")


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def cleanup(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": PLAN})


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM projects WHERE plan_id = :p"), {"p": PLAN}).scalar_one()


def test_import_then_reimport_updates_never_duplicates(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    path = write_csv(tmp_path / "plan.csv", GOOD)
    first = import_spreadsheet(engine, path)
    assert first.imported and first.errors == [] and first.counts.inserted == 3
    again = import_spreadsheet(engine, path)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    changed = [row[:] for row in GOOD]
    changed[0][4] = "完成枫溪港黑臭水体整治"
    third = import_spreadsheet(engine, write_csv(tmp_path / "plan2.csv", changed))
    assert (third.counts.inserted, third.counts.updated) == (0, 1)
    assert count(engine) == 3
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT task_text, location_status, deadline, targets FROM projects WHERE key = :k"),
            {"k": f"{PLAN}/附件3/1.1"},
        ).one()
        forest = conn.execute(text("SELECT targets FROM projects WHERE key = :k"), {"k": f"{PLAN}/附件4/1"}).scalar()
    assert row.task_text == "完成枫溪港黑臭水体整治" and row.location_status == "pending"
    assert str(row.deadline) == "2018-12-31"
    assert forest[0]["value"] == 2000 and forest[0]["unit"] == "亩"


def test_bad_rows_are_all_reported_and_nothing_is_imported(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    bad = [row[:] for row in GOOD]
    bad[0][6] = ""  # row 2: no lead unit
    bad[1][9] = "明年春天"  # row 3: no date
    bad[2][5] = "绿化"  # row 4: unknown category
    duplicate = GOOD[0][:]  # row 5: same plan/section/number as row 2
    report = import_spreadsheet(engine, write_csv(tmp_path / "bad.csv", [*bad, duplicate]))
    assert not report.imported and count(engine) == 0
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(2, "lead_units"), (3, "deadline"), (4, "category"), (5, "number")}
    reasons = " | ".join(str(e) for e in report.errors)
    assert "missing lead unit" in reasons and "unparseable date '明年春天'" in reasons
    assert "unknown category '绿化'" in reasons and "duplicate number '1.1'" in reasons and "also row 2" in reasons


def test_skip_invalid_imports_the_good_rows(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    rows = [GOOD[0], [*GOOD[1][:5], "不存在", *GOOD[1][6:]], GOOD[2]]
    report = import_spreadsheet(engine, write_csv(tmp_path / "mixed.csv", rows), skip_invalid=True)
    assert report.imported and [(e.row, e.column) for e in report.errors] == [(3, "category")]
    assert count(engine) == 2


def test_wrong_encoding_is_refused_or_reported(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    with pytest.raises(ImportRefused, match="neither UTF-8 nor GB18030"):
        import_spreadsheet(engine, write_csv(tmp_path / "utf16.csv", GOOD, encoding="utf-16"))
    garbled = [row[:] for row in GOOD]
    garbled[1][4] = GOOD[1][4].encode("utf-8").decode("latin-1")  # UTF-8 read as Latin-1, saved again
    report = import_spreadsheet(engine, write_csv(tmp_path / "mojibake.csv", garbled))
    assert not report.imported
    assert (3, "task_text") in {(e.row, e.column) for e in report.errors}
    assert "encoding" in str(report.errors[0])
    gbk = import_spreadsheet(engine, write_csv(tmp_path / "excel.csv", GOOD, encoding="gb18030"))
    assert gbk.imported and gbk.encoding == "gb18030" and count(engine) == 3


def test_xlsx_is_read_like_csv(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in GOOD:
        sheet.append(row)
    book.save(tmp_path / "plan.xlsx")
    report = import_spreadsheet(engine, tmp_path / "plan.xlsx")
    assert report.imported and report.counts.inserted == 3


def test_cli_reports_rows_and_exit_codes(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    bad = [row[:] for row in GOOD]
    bad[0][6] = ""
    path = write_csv(tmp_path / "cli.csv", bad)
    result = runner.invoke(app, ["plans", "import", str(path), "--city", "株洲市"])
    assert result.exit_code == 1
    assert "row 2, column lead_units: missing lead unit" in result.output
    assert "nothing imported" in result.output and count(engine) == 0
    result = runner.invoke(app, ["plans", "import", str(path), "--skip-invalid", "--city", "株洲市"])
    assert result.exit_code == 0, result.output
    assert "2 rows imported" in result.output and count(engine) == 2
    with engine.connect() as conn:
        states = (
            conn.execute(text("SELECT DISTINCT location_status FROM projects WHERE plan_id = :p"), {"p": PLAN})
            .scalars()
            .all()
        )
    assert "pending" not in states  # geocoded right after the import


def test_cli_geocode_all_prints_a_summary() -> None:
    result = runner.invoke(app, ["geocode", "--all", "--plan", "changzhutan-2010"])
    assert result.exit_code == 0, result.output
    assert "28 projects geocoded" in result.output and "unresolved:" in result.output


def test_a_new_plan_needs_its_city(engine: Engine, tmp_path: Path, cleanup: None) -> None:
    """Issue 19: a plan imported without a city sent every task naming no place to the provincial government."""
    path = write_csv(tmp_path / "new.csv", GOOD)
    refused = runner.invoke(app, ["plans", "import", str(path), "--no-geocode"])
    assert refused.exit_code == 2 and "--city" in refused.output and count(engine) == 0
    unknown = runner.invoke(app, ["plans", "import", str(path), "--no-geocode", "--city", "火星市"])
    assert unknown.exit_code == 2 and "株洲市" in unknown.output and count(engine) == 0
    done = runner.invoke(app, ["plans", "import", str(path), "--no-geocode", "--city", "株洲市"])
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT city FROM plans WHERE id = :p"), {"p": PLAN}).scalar_one() == "株洲市"
    again = runner.invoke(app, ["plans", "import", str(path), "--no-geocode"])  # a known plan keeps its city
    assert again.exit_code == 0, again.output
