"""The evaluation's workbook and the third-party package, from a synthetic snapshot (no database): the same
bytes on every call, every sheet readable, the behind sheet complete, text never a formula, and a package
whose every member matches its line in SHA256SUMS.txt."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from typing import Any

import openpyxl
import pytest

from service.common.derived_status import BEHIND_CLASSES, SCHEDULE_CLASSES
from service.evaluations.package import FIELD_SECTIONS, fields_readme, package_zip
from service.evaluations.package import MEDIA_TYPE as ZIP_TYPE
from service.evaluations.report_xlsx import MEDIA_TYPE, report_xlsx
from service.evaluations.sample import sample_snapshot

SHEETS = [
    "概要",
    "按单位",
    "按类别",
    "按区县",
    "按计划",
    "考核得分",
    "滞后及应开工未开工",
    "全部任务",
    "案件",
    "字段说明",
]
HOSTILE = '=HYPERLINK("http://example.invalid/x","点此查看")'


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    snap = sample_snapshot(120)
    # a behind task, so the hostile title shows on both task sheets
    task = next(t for t in snap["tasks"] if t["status"] in BEHIND_CLASSES)
    task["title"] = HOSTILE
    task["lead_units"] = ["株洲市发改委", "@株洲市住建局"]
    return snap


def _hostile(snapshot: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in snapshot["tasks"] if t["title"] == HOSTILE)


@pytest.fixture(scope="module")
def workbook_bytes(snapshot: dict[str, Any]) -> bytes:
    return report_xlsx(snapshot)


def _canonical(snapshot: dict[str, Any]) -> bytes:
    return json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def test_media_types() -> None:
    assert MEDIA_TYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ZIP_TYPE == "application/zip"


def test_xlsx_is_deterministic(snapshot: dict[str, Any], workbook_bytes: bytes) -> None:
    assert report_xlsx(copy.deepcopy(snapshot)) == workbook_bytes
    # as stored: canonical JSON with sorted keys; the key order changes nothing
    assert report_xlsx(json.loads(_canonical(snapshot))) == workbook_bytes
    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-12-03T07:20:00Z" in core  # created_at 15:20 China time, in UTC


def test_every_sheet_reads_back(snapshot: dict[str, Any], workbook_bytes: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes))
    assert book.sheetnames == SHEETS
    for name in SHEETS:
        sheet = book[name]
        assert sheet.max_row >= 2, name
        if name != "概要":
            assert sheet.auto_filter.ref, name
        assert sheet.freeze_panes is not None, name

    behind = [t for t in snapshot["tasks"] if t["status"] in BEHIND_CLASSES]
    assert len(behind) == snapshot["summary"]["delayed"] > 0
    sheet = book["滞后及应开工未开工"]
    assert sheet.max_row - 1 == len(behind)
    assert [c.value for c in sheet[1]][:3] == ["序号", "任务", "牵头单位"]
    assert [r[0].value for r in sheet.iter_rows(min_row=2)] == [t["no"] for t in behind]

    every = book["全部任务"]
    assert every.max_row - 1 == len(snapshot["tasks"])
    headers = [c.value for c in every[1]]
    assert headers == [f.name for f in FIELD_SECTIONS[0].fields]
    second = dict(zip(headers, (c.value for c in every[3]), strict=True))
    task = snapshot["tasks"][1]
    assert second["序号"] == task["no"]
    assert second["当前进度"] == pytest.approx(task["percent"] / 100)  # a number, percent-formatted
    assert every.cell(3, headers.index("当前进度") + 1).number_format == "0.0%"
    assert second["完成时限"].date().isoformat() == task["deadline"]  # a real date
    assert second["填报月份"].date().isoformat() == task["reported_period"]
    assert second["牵头单位"] == "、".join(task["lead_units"])

    units = book["按单位"]
    assert units.max_row - 1 == len(snapshot["groups"]["unit"])
    unit_headers = [c.value for c in units[1]]
    assert unit_headers == ["单位", "任务数", *SCHEDULE_CLASSES, "滞后合计", "完成率", "平均进度"]
    first = snapshot["groups"]["unit"][0]
    assert units.cell(2, 1).value == first["key"]
    assert units.cell(2, len(unit_headers) - 1).value == pytest.approx(first["completion_rate"])
    assert units.cell(2, len(unit_headers) - 1).number_format == "0.0%"
    assert [c.value for c in book["按计划"][1]][:2] == ["计划", "计划名称"]

    board = book["考核得分"]
    rule = snapshot["scoreboard"]["rule"]
    assert board.cell(1, 2).value == rule["name"] and board.cell(1, 6).value == rule["sha256"]
    board_headers = [c.value for c in board[2]]
    labels = [p["label"] for p in snapshot["scoreboard"]["units"][0]["parts"]]
    assert board_headers == ["名次", "单位", "得分"] + [
        f"{label}{what}" for label in labels for what in ("权重", "得分率", "得分", "依据")
    ]
    assert board.max_row - 2 == len(snapshot["scoreboard"]["units"])
    top = snapshot["scoreboard"]["units"][0]
    assert [board.cell(3, c).value for c in (1, 2, 3)] == [1, top["unit"], pytest.approx(top["score"])]

    cases = book["案件"]
    assert cases.max_row - 2 == len(snapshot["cases"]["by_unit"])
    assert [c.value for c in cases[2]] == ["单位", "在办", "逾期", "已销号", "撤销", "到期", "按期销号", "违法违规"]

    summary = [[c.value for c in row] for row in book["概要"].iter_rows()]
    flat = [v for row in summary for v in row if v is not None]
    for expected in (
        snapshot["evaluation"]["title"],
        snapshot["basis"]["data_version"],
        rule["name"],
        *snapshot["basis"]["rules"].values(),
        *SCHEDULE_CLASSES,
    ):
        assert expected in flat
    fields = book["字段说明"]
    assert fields.max_row - 1 == sum(len(s.fields) for s in FIELD_SECTIONS)


def test_formula_looking_text_stays_text(snapshot: dict[str, Any], workbook_bytes: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes))
    no = _hostile(snapshot)["no"]
    for name in ("滞后及应开工未开工", "全部任务"):
        sheet = book[name]
        headers = [c.value for c in sheet[1]]
        row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == no)
        title = row[headers.index("任务")]
        assert title.value == HOSTILE
        assert title.data_type == "s"
        units = row[headers.index("牵头单位")]
        assert units.value == "株洲市发改委、@株洲市住建局" and units.data_type == "s"
    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), name


def _files(workbook: bytes) -> dict[str, bytes]:
    return {
        "report.pdf": b"%PDF-1.7 made up",
        "report.xlsx": workbook,
        "tasks.gpkg": b"SQLite format 3\x00...",
        "wallmap.png": b"\x89PNG\r\n\x1a\n made up",
    }


def _read(package: bytes) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        return infos, {info.filename: archive.read(info) for info in infos}


def test_package_is_deterministic_and_complete(snapshot: dict[str, Any], workbook_bytes: bytes) -> None:
    snapshot_json = _canonical(snapshot)
    package = package_zip(snapshot_json, _files(workbook_bytes))
    assert package_zip(snapshot_json, _files(workbook_bytes)) == package
    infos, members = _read(package)
    assert [i.filename for i in infos] == [
        "README.txt",
        "报告/评估报告.pdf",
        "报告/评估报告.xlsx",
        "数据/tasks.gpkg",
        "数据/evaluation.json",
        "数据/wallmap.png",
        "SHA256SUMS.txt",
    ]
    for info in infos:
        assert info.date_time == (2026, 12, 3, 15, 20, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr == 0o100644 << 16
        assert info.create_system == 3
        if not info.filename.isascii():
            assert info.flag_bits & 0x800  # UTF-8 names
    assert members["数据/evaluation.json"] == snapshot_json
    assert members["报告/评估报告.xlsx"] == workbook_bytes
    assert members["数据/wallmap.png"] == _files(workbook_bytes)["wallmap.png"]

    sums = members["SHA256SUMS.txt"].decode("utf-8").splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in sums)
    assert sorted(listed) == sorted(set(members) - {"SHA256SUMS.txt"})
    for name, sha in listed.items():
        assert hashlib.sha256(members[name]).hexdigest() == sha, name

    readme = members["README.txt"].decode("utf-8")
    assert readme == fields_readme(json.loads(snapshot_json)) == fields_readme(snapshot)
    evaluation = snapshot["evaluation"]
    for expected in (
        evaluation["title"],
        evaluation["period"],
        evaluation["as_of"],
        evaluation["created_by"],
        evaluation["created_at"],
        snapshot["basis"]["data_version"],
        *snapshot["basis"]["rules"].values(),
        snapshot["scoreboard"]["rule"]["sha256"],
        "报告/评估报告.pdf",
        "数据/tasks.gpkg",
        "SHA256SUMS.txt",
    ):
        assert expected in readme
    for section in FIELD_SECTIONS:
        for field in section.fields:
            assert f"{field.key}  {field.name}（{field.english}）" in readme


def test_package_leaves_out_what_is_missing(snapshot: dict[str, Any]) -> None:
    package = package_zip(_canonical(snapshot), {"tasks.gpkg": b"gpkg"})
    infos, members = _read(package)
    assert [i.filename for i in infos] == ["README.txt", "数据/tasks.gpkg", "数据/evaluation.json", "SHA256SUMS.txt"]
    assert len(members["SHA256SUMS.txt"].decode().splitlines()) == 3
    with pytest.raises(ValueError, match="unknown package files"):
        package_zip(_canonical(snapshot), {"report.docx": b"x"})
