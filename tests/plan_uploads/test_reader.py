"""Reading the office's sheet as written: formats, title rows, headers and their variants, sections, merged
cells, deadlines; and hostile files refused with a reason, never a hang or a 500."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from service.common.upload_safety import MB, UploadLimits
from service.plan_uploads.sheet import BLANK_RUN, MAX_ROWS, SheetRefused, read_grid
from service.plan_uploads.table import NoHeader, Sheet, read_sheet
from tests.plan_uploads.office_sheet import BROKEN_PROBLEMS, CLEAN_TASKS, TITLE, write, write_csv

LIMITS = UploadLimits(max_file_bytes=5 * MB, max_unzipped_bytes=50 * MB, max_members=100, max_ratio=100, max_vertices=0)


def sheet_of(path: Path, year: int | None = None) -> Sheet:
    return read_sheet(read_grid(path.name, path.read_bytes(), LIMITS), year)


def xlsx_bytes(rows: list[list[object]], merges: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for merge in merges:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_the_office_sheet_reads_the_same_in_every_format(tmp_path: Path, suffix: str) -> None:
    sheet = sheet_of(write(tmp_path / f"plan{suffix}"))
    assert sheet.title == TITLE and (sheet.title_city, sheet.title_year) == ("株洲市", 2018)
    assert sheet.header_row == 3 and sheet.issues == []
    assert len(sheet.tasks) == CLEAN_TASKS
    by_number = {(t.section, t.number): t for t in sheet.tasks}
    first = by_number[("一、两型改革", "1")]
    assert first.title == "环保市场化改革" and first.task_text.startswith("深化排污权交易改革")
    assert first.lead_units == ["市环保局"] and first.responsible_units == ["公共资源交易中心", "各县市区人民政府"]
    assert (first.deadline, first.deadline_text) == (date(2018, 12, 31), "2018年12月底前")
    assert first.category == "两型改革"  # the section names it
    # 序号 2 merged over three rows: three sub-tasks, the merged lead unit belongs to the last two
    subs = [by_number[("一、两型改革", f"2.{k}")] for k in (1, 2, 3)]
    assert [s.lead_units for s in subs] == [["市国土资源局"], ["市环保局"], ["市环保局"]]
    assert [s.responsible_units for s in subs] == [[], ["各县市区人民政府"], ["各县市区人民政府"]]
    assert all(s.title == "生态保护管理机制改革" for s in subs)
    assert [s.deadline for s in subs] == [date(2018, 12, 31), date(2018, 6, 30), date(2018, 12, 31)]
    sub_section = "二、清水塘搬迁改造 （一）企业关停与转型"
    assert by_number[(sub_section, "1")].deadline == date(2018, 12, 31)  # an Excel date cell (text in the CSV)
    assert by_number[(sub_section, "2")].deadline == date(2018, 6, 30)  # 2018年6月
    settle = by_number[("二、清水塘搬迁改造 （二）职工安置与环境整治", "1")]
    assert (settle.deadline, settle.deadline_text, settle.category) == (None, "长期", "清水塘搬迁改造")
    assert by_number[("一、两型改革", "3")].deadline == date(2018, 9, 30)  # 三季度
    assert any("表注" in zh for zh, _ in sheet.notes)  # the note under the table is not a task
    assert any(t["unit"] == "万名" for t in settle.targets)  # targets read from the text as before


def test_the_form_year_dates_year_less_deadlines_not_the_title_nor_today(tmp_path: Path) -> None:
    sheet = sheet_of(write(tmp_path / "plan.xlsx"), year=2019)
    deadlines = {t.deadline_text: t.deadline for t in sheet.tasks}
    assert deadlines["上半年"] == date(2019, 6, 30) and deadlines["2018年12月底前"] == date(2018, 12, 31)


def test_gbk_csv_is_read(tmp_path: Path) -> None:
    sheet = sheet_of(write_csv(tmp_path / "plan.csv", encoding="gbk"))
    assert len(sheet.tasks) == CLEAN_TASKS and sheet.tasks[0].lead_units == ["市环保局"]
    assert read_grid("plan.csv", (tmp_path / "plan.csv").read_bytes(), LIMITS).kind == "csv (gb18030)"


def test_the_broken_sheet_names_each_problem_by_row_and_column(tmp_path: Path) -> None:
    sheet = sheet_of(write(tmp_path / "broken.xlsx", broken=True))
    found = {(i.row, i.column) for i in sheet.issues}
    for kind in ("deadline", "blank", "duplicate"):
        assert BROKEN_PROBLEMS[kind] in found, kind
    reasons = " ".join(i.zh for i in sheet.issues)
    assert "尽快" in reasons and "任务内容为空" in reasons and "重复" in reasons
    assert all(i.en for i in sheet.issues)
    # the near-miss unit is the register's to judge (test_usecases): the reader keeps it as written
    assert any(t.lead_units == ["市住建居"] for t in sheet.tasks)


def test_header_variants_and_register_names() -> None:
    variants = [
        ["编号", "主要任务", "牵头部门", "配合单位", "时间节点", "领域"],
        ["1", "完成河西污水处理厂提质改造", "市住建局", "市环保局", "2019年6月底前", "碧水蓝天"],
    ]
    sheet = read_sheet(read_grid("a.xlsx", xlsx_bytes(variants), LIMITS), 2019)
    (task,) = sheet.tasks
    assert task.task_text == "完成河西污水处理厂提质改造" and task.title == task.task_text
    assert task.lead_units == ["市住建局"] and task.responsible_units == ["市环保局"]
    assert task.deadline == date(2019, 6, 30) and task.category == "碧水蓝天"
    english = [
        ["number", "title", "task_text", "lead_units", "responsible_units", "deadline_text", "category", "extra"],
        ["7", "复绿", "完成荒山新造林2000亩以上", "市林业局", "", "年底前", "绿心保护", "x"],
    ]
    sheet = read_sheet(read_grid("b.csv", _csv(english), LIMITS), 2018)
    (task,) = sheet.tasks
    assert (task.number, task.title, task.deadline) == ("7", "复绿", date(2018, 12, 31))
    assert sheet.ignored == ["H（extra）"]


def test_two_header_rows_and_brackets() -> None:
    rows = [
        ["序号", "任务内容", "责任单位", None, "完成时限"],
        [None, None, "牵头", "配合", None],
        ["1", "推进垃圾分类", "市城管局", "市两型办", "2018年底"],
    ]
    sheet = read_sheet(read_grid("c.xlsx", xlsx_bytes(rows, ("C1:D1",)), LIMITS), 2018)
    (task,) = sheet.tasks
    assert task.lead_units == ["市城管局"] and task.responsible_units == ["市两型办"]
    one_row = [
        ["序号", "工作任务", "责任单位（牵头）", "责任单位（配合）"],
        ["1", "推进垃圾分类", "市城管局", "市两型办"],
    ]
    (task,) = read_sheet(read_grid("d.xlsx", xlsx_bytes(one_row), LIMITS), 2018).tasks
    assert task.lead_units == ["市城管局"] and task.responsible_units == ["市两型办"]


def test_formula_text_stays_text() -> None:
    rows = [
        ["序号", "重点任务", "牵头单位"],
        ["1", '=HYPERLINK("http://x","y")', "市环保局"],
        ["2", "\t=1+1", "市环保局"],
    ]
    sheet = read_sheet(read_grid("f.csv", _csv(rows), LIMITS), 2018)
    assert [t.task_text for t in sheet.tasks] == ['=HYPERLINK("http://x","y")', "\t=1+1"]


def test_no_header_row_is_said() -> None:
    with pytest.raises(NoHeader):
        read_sheet(read_grid("n.csv", _csv([["a", "b"], ["1", "2"]]), LIMITS), 2018)
    assert "重点任务" in NoHeader.zh and "header" in NoHeader.en


def test_a_million_empty_rows_end_at_the_blank_run() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "重点任务", "牵头单位"])
    sheet.append(["1", "推进垃圾分类", "市城管局"])
    sheet.cell(1_048_576, 1, None).number_format = "0"  # a formatted cell at the last row: a million empty rows
    sheet.cell(1_000_000, 2, "")
    for r in range(3, 3000):  # and empty cells written as such, row after row
        sheet.cell(r, 1).number_format = "@"
    out = io.BytesIO()
    book.save(out)
    grid = read_grid("m.xlsx", out.getvalue(), LIMITS)
    assert len(grid.rows) == 2 and any(str(BLANK_RUN) in zh for zh, _ in grid.notes)
    assert len(read_sheet(grid, 2018).tasks) == 1


def test_too_many_rows_is_refused() -> None:
    rows = [["序号", "重点任务", "牵头单位"]] + [[str(i), "任务", "市环保局"] for i in range(MAX_ROWS + 1)]
    with pytest.raises(SheetRefused) as caught:
        read_grid("big.csv", _csv(rows), LIMITS)
    assert caught.value.status == 413 and str(MAX_ROWS) in caught.value.zh


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("plan.pdf", b"%PDF-1.4", 415, "不支持"),
        ("plan.xlsx", b"just text, not a workbook", 422, "不是 Excel"),
        ("plan.csv", "序号,重点任务\n".encode("utf-16"), 422, "编码"),
        ("plan.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, 422, ".xls"),
        ("plan.csv", b"", 422, "空"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(name: str, content: bytes, status: int, words: str) -> None:
    with pytest.raises(SheetRefused) as caught:
        read_grid(name, content, LIMITS)
    assert caught.value.status == status and words in caught.value.zh and caught.value.en


def test_a_zip_is_checked_before_openpyxl_opens_it() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * MB))  # inflates a thousandfold
    with pytest.raises(SheetRefused) as caught:
        read_grid("bomb.xlsx", bomb.getvalue(), LIMITS)
    assert caught.value.status == 413 and "zip bomb" in caught.value.en
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", b"hello")
    with pytest.raises(SheetRefused) as caught:
        read_grid("plain.xlsx", plain.getvalue(), LIMITS)
    assert caught.value.status == 422 and "不是 Excel 工作簿" in caught.value.zh
    with pytest.raises(SheetRefused) as caught:
        read_grid("big.xlsx", b"PK\x03\x04" + b"\x00" * (6 * MB), LIMITS)
    assert caught.value.status == 413
    strings = io.BytesIO()  # within the zip's ratio, but a part openpyxl would hold whole in memory
    with zipfile.ZipFile(strings, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b" " * (65 * MB))
    roomy = UploadLimits(
        max_file_bytes=100 * MB, max_unzipped_bytes=200 * MB, max_members=10, max_ratio=100, max_vertices=0
    )
    with pytest.raises(SheetRefused) as caught:
        read_grid("strings.xlsx", strings.getvalue(), roomy)
    assert caught.value.status == 413 and "sharedStrings" in caught.value.en


def _csv(rows: list[list[object]]) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")
