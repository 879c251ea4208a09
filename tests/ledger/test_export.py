"""/ledger.xlsx and /ledger.csv: the filtered ledger, one row a task, read back as a planner's Excel would."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
from fastapi.testclient import TestClient

from service.ledger.columns import COLUMNS
from tests.ledger.conftest import FORMULA, HOSTILE, PLAN_ORDER, LedgerWorld

HEADERS = [c.header for c in COLUMNS]
COL = {c.header: i for i, c in enumerate(COLUMNS)}


def workbook(browser: TestClient, **params: str) -> openpyxl.Workbook:
    r = browser.get("/ledger.xlsx", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["content-disposition"]
    return openpyxl.load_workbook(io.BytesIO(r.content))


def test_xlsx_headers_frozen_dates_percent(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    sheet = workbook(coordinator_browser, plan=world.plan, as_of="2018-03").active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == HEADERS
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["D"].width > sheet.column_dimensions["A"].width  # 任务 wider than 序号
    body = rows[1:]
    assert [r[COL["序号"]].value for r in body] == ["1", "2", "3", "10"]  # the plan's order
    t1, t2, t3, t10 = body
    assert t2[COL["完成时限"]].is_date and t2[COL["完成时限"]].value == dt.datetime(2018, 12, 31)
    assert t1[COL["完成时限"]].value is None  # no deadline: empty, not text
    assert t1[COL["完成进度"]].value == 0.5 and t1[COL["完成进度"]].number_format == "0%"
    assert t1[COL["报告期"]].is_date and t1[COL["报告期"]].number_format == "yyyy-mm"
    assert t1[COL["最新进展"]].value == "已完成清淤" and t1[COL["牵头单位"]].value == "市环保局"
    assert t10[COL["进度分类"]].value == "已开工进展缓慢" and t10[COL["滞后依据"]].value == "落后于节点计划"
    assert t10[COL["节点计划"]].value == 0.5 and t10[COL["节点计划"]].number_format == "0%"
    assert t10[COL["任务"]].value == HOSTILE  # text exactly as it is
    assert t3[COL["任务"]].value == FORMULA and t3[COL["任务"]].data_type == "s"  # never a formula


def test_xlsx_rows_are_the_filtered_ledger(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    sheet = workbook(coordinator_browser, plan=world.plan, as_of="2018-03", category="生态").active
    assert [r[COL["序号"]] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["3", "10"]
    sheet = workbook(coordinator_browser, plan=world.plan, as_of="2018-07", overdue="1").active
    (row,) = sheet.iter_rows(min_row=2, values_only=True)
    assert row[COL["序号"]] == "10" and row[COL["已逾期"]] == "是" and row[COL["滞后依据"]] == "已过完成时限"


def test_csv_utf8_bom_percent_and_neutralised_formulas(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    r = coordinator_browser.get("/ledger.csv", params={"plan": world.plan, "as_of": "2018-03"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert [row[COL["序号"]] for row in rows[1:]] == ["1", "2", "3", "10"] and len(rows) - 1 == len(PLAN_ORDER)
    t1, t2, t3, _ = rows[1:]
    assert t1[COL["完成进度"]] == "50%" and t1[COL["报告期"]] == "2018-03" and t2[COL["完成时限"]] == "2018-12-31"
    assert t3[COL["任务"]] == "'" + FORMULA  # a spreadsheet shows it, runs nothing


def test_editor_export_defaults_to_their_unit(editor_browser: TestClient, world: LedgerWorld) -> None:
    r = editor_browser.get("/ledger.csv", params={"plan": world.plan, "as_of": "2018-03"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[COL["序号"]] for row in rows[1:]] == ["10"]


def test_export_needs_a_signed_in_user(app, world: LedgerWorld) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        r = c.get("/ledger.csv", params={"plan": world.plan})
    assert r.status_code in (302, 303, 401)


def test_export_reads_in_batches_from_a_cursor(world: LedgerWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Batches of BATCH_ROWS from the server-side cursor, not one list: with batches of one the CSV is the same."""
    from service.database import session_scope
    from service.ledger import usecases
    from service.ledger.filters import LedgerFilters

    filters, as_of = LedgerFilters(plan=world.plan), dt.date(2018, 3, 31)
    whole = b"".join(usecases.ledger_export(filters, as_of, "csv"))
    monkeypatch.setattr(usecases, "BATCH_ROWS", 1)
    with session_scope() as session:
        sizes = [len(batch) for batch in usecases._batches(session, filters, as_of)]
    assert sizes == [1, 1, 1, 1]
    chunks = list(usecases.ledger_export(filters, as_of, "csv"))
    assert len(chunks) == 1 + len(PLAN_ORDER) and b"".join(chunks) == whole  # the header, then a chunk per batch


def test_the_ledger_says_how_each_task_is_located(coordinator_browser: TestClient, world: LedgerWorld, engine) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: a task placed at its lead unit's seat names no place and the ledger says so, not a point."""
    from sqlalchemy import text

    with engine.begin() as conn:
        one = conn.execute(
            text("SELECT id, precision FROM projects WHERE plan_id = :p ORDER BY id LIMIT 1"), {"p": world.plan}
        )
        task, before = one.one()
        conn.execute(text("UPDATE projects SET precision = 8 WHERE id = :id"), {"id": task})
    try:
        r = coordinator_browser.get("/ledger.csv", params={"plan": world.plan, "as_of": "2018-03"})
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        places = {row[COL["定位"]] for row in rows[1:]}
        assert "未指明地点（牵头单位全市工作）" in places
        assert places <= {"未指明地点（牵头单位全市工作）", "具体地点", "待定位", "未定位"}
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE projects SET precision = :q WHERE id = :id"), {"id": task, "q": before})
