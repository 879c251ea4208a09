"""The per-unit monthly sheet: download (the unit's tasks only, as a workbook people fill), upload, preview,
commit; the percent three ways; the reporting rules; the wrong unit; the same file twice; CSRF; hostile files."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

from fastapi.testclient import TestClient
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import Engine, text

from service.database import session_scope
from service.progress.rules import current_month
from service.units import usecases as units
from tests.monthly_sheets.conftest import (
    FORMULA_TITLE,
    OURS,
    SheetWorld,
    as_bytes,
    commit_page,
    download,
    fill,
    header,
    reports,
    row_of,
    upload_page,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_sheet_holds_the_units_tasks_as_a_workbook_to_fill(
    editor_browser: TestClient, sheet_world: SheetWorld
) -> None:
    book = download(editor_browser, "2018-04")
    sheet = book.active
    # the title row: 单位 and 月份, each followed by its value
    assert sheet["A1"].value == "单位" and sheet["B1"].value == "株洲市石峰区人民政府"
    assert sheet["D1"].value == "月份" and sheet["E1"].value == "2018-04"
    cols = header(book)
    assert list(cols)[:8] == [
        "任务编号",
        "序号",
        "重点任务",
        "牵头单位",
        "责任单位",
        "完成时限",
        "上月状态",
        "上月完成比例",
    ]
    assert list(cols)[8:] == [
        "本月状态",
        "完成比例",
        "累计完成投资（万元）",
        "进展情况",
        "滞后原因类别",
        "滞后原因",
    ]
    assert sheet.freeze_panes == "A3"  # title and header stay in view
    ids = [sheet.cell(r, 1).value for r in range(3, sheet.max_row + 1)]
    # the unit's tasks only (ours and the bundled plans' for 石峰区), not 芦淞区's
    with session_scope() as session:
        theirs = set(units.task_ids_for_unit(session, sheet_world.units["shifeng"]))
    assert {sheet_world.ids[k] for k in OURS} <= set(ids) and set(ids) <= theirs
    assert sheet_world.ids["d"] not in ids and len(ids) == len(set(ids))
    a = row_of(book, sheet_world.ids["a"])
    assert sheet.cell(a, cols["上月状态"]).value == "推进中"
    assert (
        sheet.cell(a, cols["上月完成比例"]).value == 0.4 and sheet.cell(a, cols["上月完成比例"]).number_format == "0%"
    )
    assert isinstance(sheet.cell(a, cols["完成时限"]).value, datetime)  # a date, not text
    assert sheet.cell(a, cols["完成时限"]).value.date() == date(2018, 12, 31)
    assert sheet.cell(a, cols["完成比例"]).number_format == "0%"
    # locked task columns, unlocked columns to fill, on a protected sheet; wrapped text; widths
    assert sheet.protection.sheet
    assert sheet.cell(a, cols["重点任务"]).protection.locked
    assert (
        not sheet.cell(a, cols["本月状态"]).protection.locked and not sheet.cell(a, cols["进展情况"]).protection.locked
    )
    assert sheet.cell(a, cols["重点任务"]).alignment.wrap_text
    assert sheet.column_dimensions["C"].width >= 40
    # 本月状态 offers the statuses as a list
    (validation,) = [v for v in sheet.data_validations.dataValidation if "推进中" in (v.formula1 or "")]
    assert isinstance(validation, DataValidation) and validation.type == "list"
    assert "推进中" in validation.formula1 and "已完成" in validation.formula1
    status_letter = sheet.cell(3, cols["本月状态"]).column_letter
    assert f"{status_letter}3" in str(validation.sqref)
    # a formula-like title stays a text cell
    c = row_of(book, sheet_world.ids["c"])
    assert sheet.cell(c, cols["重点任务"]).value == FORMULA_TITLE and sheet.cell(c, cols["重点任务"]).data_type == "s"


def test_an_editor_gets_no_other_units_sheet_a_coordinator_gets_any(
    editor_browser: TestClient, coordinator_browser: TestClient, sheet_world: SheetWorld
) -> None:
    refused = editor_browser.get(
        "/ledger/monthly-sheet.xlsx", params={"unit": sheet_world.units["luosong"], "period": "2018-04"}
    )
    assert refused.status_code == 403
    assert "株洲市石峰区人民政府" in refused.json()["detail"] and "株洲市芦淞区人民政府" in refused.json()["detail"]
    book = download(coordinator_browser, "2018-04", sheet_world.units["luosong"])
    ids = [book.active.cell(r, 1).value for r in range(3, book.active.max_row + 1)]
    assert sheet_world.ids["d"] in ids and sheet_world.ids["b"] not in ids
    assert coordinator_browser.get("/ledger/monthly-sheet.xlsx", params={"period": "2018-04"}).status_code == 400


def test_a_future_month_has_no_sheet(editor_browser: TestClient, sheet_world: SheetWorld) -> None:
    r = editor_browser.get("/ledger/monthly-sheet.xlsx", params={"period": "2099-01"})
    assert r.status_code == 400 and "不能填报未来的月份" in r.json()["detail"]
    r = editor_browser.get("/ledger/monthly-sheet.xlsx", params={"period": "2018-13"})
    assert r.status_code == 400 and "13 月不存在" in r.json()["detail"]


def test_percent_written_three_ways_is_80_each_and_commits(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    ids = sheet_world.ids
    book = download(editor_browser, "2018-05")
    fill(book, ids["a"], status="推进中", percent=(0.8, "0%"), investment=1200.5, note="完成搬迁协议签订")
    fill(book, ids["b"], status="推进中", percent="80%", note="路基完成")
    fill(book, ids["c"], status="推进中", percent=80)
    preview = upload_page(editor_browser, as_bytes(book))
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert "月报预览" in html and html.count(">将记录</span>") == 3 and "有问题 0" in html
    assert html.count(">80%</td>") == 3
    assert "&lt;" not in FORMULA_TITLE and FORMULA_TITLE.replace('"', "&#34;") in html  # escaped, shown as text
    assert reports(engine, ids["b"]) == []  # nothing recorded before the commit
    done = commit_page(editor_browser, html)
    assert done.status_code == 303 and done.headers["location"].startswith("/ledger?")
    assert "as_of=2018-05" in done.headers["location"]
    editor = sheet_world.editor.name
    assert reports(engine, ids["a"])[-1] == ("2018-05", "推进中", 80.0, "完成搬迁协议签订", editor)
    assert reports(engine, ids["b"]) == [("2018-05", "推进中", 80.0, "路基完成", editor)]
    assert reports(engine, ids["c"]) == [("2018-05", "推进中", 80.0, None, editor)]
    assert reports(engine, ids["e"]) == []  # left blank: skipped
    ledger = editor_browser.get(done.headers["location"])
    assert ledger.status_code == 200 and "月报已提交：记录 3 条进展" in ledger.text and "80%" in ledger.text
    with engine.connect() as conn:
        audited = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE actor = :a AND action = 'progress.report'"
                " AND after->>'period' LIKE '2018-05%'"
            ),
            {"a": editor},
        ).scalar_one()
        batch = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE actor = :a AND action = 'monthly_sheet.commit'"), {"a": editor}
        ).scalar_one()
    assert audited == 3 and batch >= 1


def test_the_same_file_twice_changes_nothing(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    ids = sheet_world.ids
    book = download(editor_browser, "2018-06")
    fill(book, ids["e"], status="滞后", percent=(0.3, "0%"), note="资金未到位", reason="专项资金未拨付")
    content = as_bytes(book)
    first = upload_page(editor_browser, content)
    assert commit_page(editor_browser, first.text).status_code == 303
    before = reports(engine, ids["e"])
    assert before == [("2018-06", "滞后", 30.0, "资金未到位", sheet_world.editor.name)]
    again = upload_page(editor_browser, content)
    assert again.status_code == 200
    assert ">无变化</span>" in again.text and ">将记录</span>" not in again.text
    assert "/commit" not in again.text and "没有需要记录的变化" in again.text  # no commit button
    assert reports(engine, ids["e"]) == before
    # the downloaded sheet of that month carries what was recorded, so it too uploads as unchanged
    refetched = as_bytes(download(editor_browser, "2018-06"))
    assert ">将记录</span>" not in upload_page(editor_browser, refetched).text
    assert reports(engine, ids["e"]) == before


def test_a_future_month_in_the_sheet_is_a_problem(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    book = download(editor_browser, current_month().strftime("%Y-%m"))
    book.active["E1"].value = "2099-01"
    fill(book, sheet_world.ids["b"], status="推进中", percent=90)
    preview = upload_page(editor_browser, as_bytes(book))
    assert preview.status_code == 200
    assert "报告月份 2099-01 在本月" in preview.text and "不能填报未来的月份" in preview.text
    assert "/commit" not in preview.text
    assert all(period != "2099-01" for period, *_ in reports(engine, sheet_world.ids["b"]))


def test_a_fall_needs_a_note(editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine) -> None:
    ids = sheet_world.ids
    book = download(editor_browser, "2018-07")
    sheet, cols = book.active, header(book)
    last = sheet.cell(row_of(book, ids["a"]), cols["上月完成比例"]).value  # March's 40 %, or May's 80 %
    assert last in (0.4, 0.8)
    fill(book, ids["a"], status="推进中", percent=(last - 0.2, "0%"))
    refused = upload_page(editor_browser, as_bytes(book))
    assert refused.status_code == 200
    assert f"的 {last * 100:g}% 降到 {last * 100 - 20:g}%" in refused.text and "说明进度回落的原因" in refused.text
    assert "进展情况" in refused.text and "/commit" not in refused.text
    fill(book, ids["a"], note="部分拆迁协议被撤回，重新测算")
    accepted = upload_page(editor_browser, as_bytes(book))
    assert ">将记录</span>" in accepted.text and "有问题 0" in accepted.text
    assert commit_page(editor_browser, accepted.text).status_code == 303
    assert reports(engine, ids["a"])[-1][:4] == (
        "2018-07",
        "推进中",
        round(last * 100 - 20, 2),
        "部分拆迁协议被撤回，重新测算",
    )


def test_a_row_of_another_units_task_is_a_problem(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    book = download(editor_browser, "2018-08")
    sheet, cols = book.active, header(book)
    row = sheet.max_row + 1
    sheet.cell(row, 1).value = sheet_world.ids["d"]  # 芦淞区's task, added by hand
    sheet.cell(row, cols["本月状态"]).value = "推进中"
    sheet.cell(row, cols["完成比例"]).value = 50
    fill(book, sheet_world.ids["b"], status="推进中", percent=95)
    preview = upload_page(editor_browser, as_bytes(book))
    assert preview.status_code == 200
    assert f"任务 {sheet_world.ids['d']} 不是本单位（株洲市石峰区人民政府）的任务" in preview.text
    assert f'<td class="num">{row}</td>' in preview.text and "/commit" not in preview.text
    assert all(period != "2018-08" for period, *_ in reports(engine, sheet_world.ids["b"]))


def test_bad_cells_are_named_by_row_and_column_in_chinese(editor_browser: TestClient, sheet_world: SheetWorld) -> None:
    ids = sheet_world.ids
    book = download(editor_browser, "2018-09")
    fill(book, ids["b"], status="快好了", percent=50)
    fill(book, ids["c"], status="推进中", percent="四十")
    fill(book, ids["e"], status="已完成", percent=90, investment="很多")
    html = upload_page(editor_browser, as_bytes(book)).text
    assert "状态“快好了”不是 未启动、推进中、已完成、滞后、暂停 之一" in html
    assert "完成比例“四十”不是数字" in html
    assert "“很多”不是数字" in html
    assert html.count('<td class="col">') >= 3 and "/commit" not in html


def test_forms_without_the_csrf_token_are_refused(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    book = download(editor_browser, "2018-10")
    fill(book, sheet_world.ids["b"], status="推进中", percent=96)
    refused = upload_page(editor_browser, as_bytes(book), token=False)
    assert refused.status_code == 403
    preview = upload_page(editor_browser, as_bytes(book))
    assert commit_page(editor_browser, preview.text, token=False).status_code == 403
    assert all(period != "2018-10" for period, *_ in reports(engine, sheet_world.ids["b"]))


def test_files_that_are_not_a_workbook_are_refused_saying_so(
    editor_browser: TestClient, sheet_world: SheetWorld
) -> None:
    csv = upload_page(editor_browser, "任务编号,本月状态\n1,推进中\n".encode(), "月报.csv")
    assert csv.status_code == 415 and "不是 .xlsx 文件" in csv.text
    renamed = upload_page(editor_browser, b"%PDF-1.7 not a workbook", "月报.xlsx")
    assert renamed.status_code == 415 and "内容不是 Excel 工作簿" in renamed.text
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    other_zip = upload_page(editor_browser, buffer.getvalue(), "月报.xlsx")
    assert other_zip.status_code == 415 and "不是 Excel 工作簿" in other_zip.text
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"0" * (300 * 1024 * 1024))
    refused = upload_page(editor_browser, bomb.getvalue(), "月报.xlsx")
    assert refused.status_code == 413 and "zip bomb" in refused.text
    unknown_header = io.BytesIO()
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["项目", "进度"])
    wb.save(unknown_header)
    no_header = upload_page(editor_browser, unknown_header.getvalue(), "月报.xlsx")
    assert no_header.status_code == 422 and "找不到表头" in no_header.text


def test_a_formula_typed_into_a_note_is_kept_as_text(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    book = download(editor_browser, "2018-11")
    fill(book, sheet_world.ids["b"], status="推进中", percent=97, note='=HYPERLINK("http://evil","点击")')
    preview = upload_page(editor_browser, as_bytes(book))
    assert commit_page(editor_browser, preview.text).status_code == 303
    assert reports(engine, sheet_world.ids["b"])[-1][3] == '=HYPERLINK("http://evil","点击")'


def test_the_api_twin_previews_in_english_and_commits(client, sheet_world: SheetWorld, auth, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.monthly_sheets import usecases

    with session_scope() as session:
        sheet = usecases.download(session, "api", "coordinator", sheet_world.units["luosong"], "2018-05")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sheet.content))
    fill(book, sheet_world.ids["d"], status="推进中", percent="35%")
    files = {"file": ("sheet.xlsx", as_bytes(book), XLSX)}
    assert client.post("/progress/sheets", files=files).status_code == 401
    r = client.post("/progress/sheets", files=files, headers=auth["coordinator"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["period"] == "2018-05" and body["counts"]["record"] == 1 and body["can_commit"]
    (row,) = [x for x in body["rows"] if x["action"] == "record"]
    assert row["task_id"] == sheet_world.ids["d"] and row["report"]["percent"] == 35.0
    fill(book, sheet_world.ids["d"], status="不知道")
    bad = client.post("/progress/sheets", files={"file": ("s.xlsx", as_bytes(book), XLSX)}, headers=auth["coordinator"])
    (problem,) = bad.json()["problems"]
    assert problem["column"] == "status" and "is not one of" in problem["reason"] and "之一" in problem["reason_zh"]
    refused = client.post(f"/progress/sheets/{bad.json()['upload_id']}/commit", headers=auth["coordinator"])
    assert refused.status_code == 400 and refused.json()["problems"][0]["column"] == "status"
    done = client.post(f"/progress/sheets/{body['upload_id']}/commit", headers=auth["coordinator"])
    assert done.status_code == 200 and done.json()["recorded"] == 1
    assert reports(engine, sheet_world.ids["d"])[-1][:3] == ("2018-05", "推进中", 35.0)
    again = client.post(f"/progress/sheets/{body['upload_id']}/commit", headers=auth["coordinator"])
    assert again.status_code == 409  # committed once
    paths = client.get("/openapi.json").json()["paths"]
    assert "/progress/sheets" in paths and "/progress/sheets/{upload_id}/commit" in paths
    assert "/ledger/monthly-sheet" not in paths  # the pages are not API


def test_the_nav_links_the_page_for_editors_only(editor_browser: TestClient, sheet_world: SheetWorld) -> None:
    page = editor_browser.get("/ledger/monthly-sheet")
    assert page.status_code == 200
    assert 'href="/ledger/monthly-sheet" aria-current="page">月报</a>' in page.text
    assert 'href="/ledger">台账</a>' in page.text  # 台账 is not marked current here
    assert "株洲市石峰区人民政府" in page.text and 'enctype="multipart/form-data"' in page.text


def test_the_size_bound_is_checked_before_anything_is_parsed() -> None:
    import pytest

    from service.common.upload_safety import UploadLimits
    from service.errors import Problem
    from service.monthly_sheets.reading import check_file

    limits = UploadLimits(max_file_bytes=1000, max_unzipped_bytes=10_000, max_members=10, max_ratio=100, max_vertices=1)
    with pytest.raises(Problem) as refused:
        check_file("月报.xlsx", b"PK\x03\x04" + b"0" * 2000, limits)
    assert refused.value.status == 413 and "超过" in refused.value.detail


def test_a_viewer_has_no_monthly_sheet(app, sheet_world: SheetWorld) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import make_user, sign_in

    viewer = make_user(f"{sheet_world.plan.split('-')[0]}-viewer", "viewer")
    browser = TestClient(app, follow_redirects=False)  # no lifespan: the suite's client ran it
    try:
        assert sign_in(browser, viewer).status_code == 303
        page = browser.get("/ledger/monthly-sheet", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "月报表需要编辑" in page.text
        assert ">月报</a>" not in browser.get("/me").text  # no nav link for a viewer
    finally:
        browser.close()


def test_a_behind_task_carries_its_category_from_the_sheet(
    editor_browser: TestClient, sheet_world: SheetWorld, engine: Engine
) -> None:
    ids = sheet_world.ids
    book = download(editor_browser, "2018-10")
    sheet, cols = book.active, header(book)
    shown = [v for v in sheet.data_validations.dataValidation if "拆迁" in (v.formula1 or "")]
    assert shown and get_column_letter(cols["滞后原因类别"]) in str(shown[0].sqref)  # a list to pick from
    fill(book, ids["b"], status="滞后", percent=60, category="天气", reason="雨季停工", note="验收资料待补")
    refused = upload_page(editor_browser, as_bytes(book))
    assert "滞后原因类别须为 资金、用地、审批、拆迁、设计、其他 之一" in refused.text and "/commit" not in refused.text
    fill(book, ids["b"], category="拆迁", reason="征拆协议未签")
    accepted = upload_page(editor_browser, as_bytes(book))
    assert commit_page(editor_browser, accepted.text).status_code == 303
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT behind_category, behind_reason FROM progress_reports WHERE project_id = :p"
                " AND period = '2018-10-01' ORDER BY created_at DESC LIMIT 1"
            ),
            {"p": ids["b"]},
        ).one()
    assert tuple(stored) == ("拆迁", "征拆协议未签")
