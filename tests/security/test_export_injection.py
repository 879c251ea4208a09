"""Formula cells: a planner's spreadsheet whose cells look like formulas is imported as written, and every
CSV export hands them back so that a spreadsheet shows the text and runs nothing (decision 0096)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, text

from service.common.chinese_text import CATEGORIES
from service.common.spreadsheet_safety import xlsx_cell
from service.database import session_scope
from service.projects.usecases import import_plan

PLAN = "sec-inject"
# (title, task_text): what the planner typed, each kept as text in the workbook
CELLS = {
    "1": ('=HYPERLINK("http://x","y")', "\t=1+1"),
    "2": ("=cmd|' /C notepad'!A0", "+1+1"),
    "3": ("-1+1", "@SUM(A1)"),
    "4": ("-3.5", " =2+2 在株洲"),
    "5": ("清水塘搬迁改造", "-2.25"),
}
FORMULAS = {'=HYPERLINK("http://x","y")', "=cmd|' /C notepad'!A0", "-1+1", "+1+1", "@SUM(A1)", "\t=1+1", " =2+2 在株洲"}
HEADER = ("plan", "number", "title", "task_text", "category", "lead_units", "year", "deadline")


def _workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    for column, name in enumerate(HEADER, start=1):
        xlsx_cell(sheet.cell(1, column), name)
    for row, (number, (title, task)) in enumerate(CELLS.items(), start=2):
        values = (PLAN, number, title, task, CATEGORIES[0], "株洲市人民政府", 2018, "2018-12-31")
        for column, value in enumerate(values, start=1):
            xlsx_cell(sheet.cell(row, column), value)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def imported(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    path = _workbook(tmp_path_factory.mktemp("inject") / "plan.xlsx")
    with session_scope(engine) as session:
        report = import_plan(session, path, actor="test-security", city="株洲市")
    assert report.imported and not report.errors, report.errors
    with engine.begin() as conn:
        ids = dict(conn.execute(text("SELECT number, id FROM projects WHERE plan_id = :p"), {"p": PLAN}).all())
        # a site in 昭山 so the batch screening has something to screen
        conn.execute(
            text("UPDATE projects SET geom = ST_SetSRID(ST_MakePoint(113.0171, 27.9739), 4326) WHERE plan_id = :p"),
            {"p": PLAN},
        )
    yield ids
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM projects WHERE plan_id = :p"), {"p": PLAN})
        conn.execute(text("DELETE FROM plans WHERE id = :p"), {"p": PLAN})


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _expected(value: str) -> str:
    return "'" + value if value in FORMULAS else value


def test_the_workbook_keeps_formula_text_as_string_cells(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "plan.xlsx")
    sheet = load_workbook(path).active
    cells = {sheet.cell(row, 2).value: (sheet.cell(row, 3), sheet.cell(row, 4)) for row in range(2, 7)}
    for number, (title, task) in CELLS.items():
        title_cell, task_cell = cells[number]
        assert (title_cell.data_type, title_cell.value) == ("s", title)
        assert (task_cell.data_type, task_cell.value) == ("s", task)


def test_import_stores_the_text_as_written(engine: Engine, imported: dict[str, int]) -> None:
    with engine.connect() as conn:
        stored = dict(
            conn.execute(text("SELECT number, task_text FROM projects WHERE plan_id = :p"), {"p": PLAN}).all()
        )
    # stripping the TAB would have turned the harmless "\t=1+1" into the formula "=1+1"
    assert stored["1"] == "\t=1+1"
    assert stored["4"] == " =2+2 在株洲"
    assert stored["5"] == "-2.25"


def test_projects_download_csv_neutralises_formula_cells(client, imported: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/collections/projects/download.csv", params={"filter": f"plan_id = '{PLAN}'"})
    assert r.status_code == 200
    rows = {row["number"]: row for row in _csv(r.content)}
    assert set(rows) == set(CELLS)
    for number, (title, task) in CELLS.items():
        assert rows[number]["title"] == _expected(title), number
        assert rows[number]["task_text"] == _expected(task), number
    assert rows["4"]["title"] == "-3.5" and rows["5"]["task_text"] == "-2.25"  # numbers stay numbers
    assert rows["1"]["deadline"] == "2018-12-31" and rows["1"]["year"] == "2018"
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows.values() for cell in row.values())


def test_batch_report_csv_neutralises_formula_cells(client, auth, imported: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    batch = client.post("/screening/batch", json={"project_ids": list(imported.values())}, headers=auth["inspector"])
    assert batch.status_code == 201 and batch.json()["screened"] == len(CELLS)
    r = client.get(batch.json()["links"]["csv"], headers=auth["inspector"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    titles = {row["project_id"]: row["project"] for row in _csv(r.content)}
    by_id = {str(pid): CELLS[number][0] for number, pid in imported.items()}
    assert titles.keys() == by_id.keys()
    for pid, title in by_id.items():
        assert titles[pid] == _expected(title)
    assert '\'=HYPERLINK("http://x","y")' in titles.values() and "-3.5" in titles.values()


# --- the database down: every import says so on one line and exits 3 --------------------------------
def _closed_port_url() -> str:
    """A DATABASE_URL pointing at a loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/nothing"


def test_imports_with_the_database_down_exit_3_with_one_line(tmp_path: Path) -> None:
    """Each command as an operator runs it, in a process of its own: the run's cached engine (which the
    fault tests hook into) is left alone."""
    import os
    import subprocess
    import sys

    from service.settings import PROJECT_ROOT

    plans = tmp_path / "plans.csv"
    plans.write_text(
        ",".join(HEADER) + "\n" + f"{PLAN},9,标题,\t=1+1,{CATEGORIES[0]},株洲市人民政府,2018,2018-12-31\n",
        encoding="utf-8",
    )
    progress = tmp_path / "progress.csv"
    progress.write_text("project_key,period,status,percent\nx/1,2018-06,推进中,50\n", encoding="utf-8")
    layer = tmp_path / "roads.geojson"
    layer.write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env |= {"DATABASE_URL": _closed_port_url(), "COLUMNS": "80"}
    commands = {
        ("plans", "import", str(plans), "--no-geocode"): "nothing imported",
        ("progress", "import", str(progress)): "nothing imported",
        ("layers", "load", "roads", str(layer)): "nothing loaded",
    }
    for args, said in commands.items():
        run = subprocess.run(
            [sys.executable, "-m", "service.cli.main", *args],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 3, (args, output)
        assert "Traceback" not in output, output
        lines = [line for line in output.splitlines() if "database is not answering" in line]
        assert len(lines) == 1 and said in lines[0] and "again once it is back" in lines[0], output
        assert "Connection refused" in lines[0] and "Is the server running" in lines[0], lines[0]
