"""GET /cases/notices (page, .pdf, .xlsx): overdue and severe open cases per unit as of a date; what an editor,
a viewer and an anonymous caller get; the PDF's Chinese and the workbook's rows."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.case_reports.conftest import TAG, CaseWorld, add_event, insert_case, point_in, remove_cases


def listed(html: str, world: CaseWorld) -> set[str]:
    return {key for key, number in world.numbers.items() if number in html}


def test_the_notice_lists_overdue_and_severe_open_cases_as_of_a_date(
    inspector_browser: TestClient, world: CaseWorld
) -> None:
    page = inspector_browser.get("/cases/notices", params={"as_of": "2025-05-01"})
    assert page.status_code == 200, page.text
    # late (30 days over), severe (not late, 严重), unassigned (严重), submitted (still open); not the withdrawn one
    assert listed(page.text, world) == {"late", "severe", "unassigned", "submitted"}
    assert "株洲市石峰区人民政府" in page.text and "株洲市芦淞区人民政府" in page.text
    assert "（尚未交办，未定责任单位）" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text  # escaped
    assert page.headers["cache-control"] == "no-store"


def test_a_case_closed_or_withdrawn_stops_being_listed(inspector_browser: TestClient, world: CaseWorld) -> None:
    before = inspector_browser.get("/cases/notices", params={"as_of": "2025-04-15"}).text
    assert {"late", "withdrawn"} <= listed(before, world)  # both open and overdue on 04-15
    after = inspector_browser.get("/cases/notices", params={"as_of": "2025-05-20"}).text
    assert "late" not in listed(after, world)  # 销号 on 05-10
    assert "withdrawn" not in listed(after, world)  # 撤销 on 04-20
    assert {"severe", "submitted"} <= listed(after, world)


def test_days_overdue_and_the_district_come_from_the_database(inspector_browser: TestClient, world: CaseWorld) -> None:
    report = inspector_browser.get("/cases/notices.xlsx", params={"as_of": "2025-05-01", "city": "株洲"})
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    sheet = book["通报"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == [
        "责任单位",
        "案件编号",
        "问题",
        "类型",
        "地点（区县）",
        "发现日期",
        "整改期限",
        "逾期天数",
        "严重程度",
        "状态",
    ]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1] and TAG in r[1]}
    assert set(rows) == {
        world.numbers[k] for k in ("late", "severe", "submitted")
    }  # 长沙's unassigned one filtered out
    late = rows[world.numbers["late"]]
    assert late[0] == "株洲市石峰区人民政府"
    late_row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == world.numbers["late"])
    assert late[2].startswith("<script>") and late_row[2].data_type == "s"  # text, never a formula
    assert late[5] == datetime(2025, 3, 1) and late[6] == datetime(2025, 4, 1)  # dates as dates
    assert late[7] == 30 and late[9] == "整改中"  # 2025-05-01 − 2025-04-01
    assert late[4] and late[4].endswith("区")  # the district the point lies in
    assert rows[world.numbers["severe"]][7] == 0  # listed for its severity, not late
    assert rows[world.numbers["submitted"]][9] == "申请销号"


def test_filters_by_kind(inspector_browser: TestClient, world: CaseWorld) -> None:
    page = inspector_browser.get("/cases/notices", params={"as_of": "2025-05-01", "kind": "违法违规"})
    assert listed(page.text, world) == {"late", "unassigned", "submitted"}


def test_an_editor_sees_only_their_units_cases(editor_browser: TestClient, world: CaseWorld) -> None:
    page = editor_browser.get("/cases/notices", params={"as_of": "2025-05-01"})
    assert page.status_code == 200
    assert listed(page.text, world) == {"late", "submitted"}
    assert "株洲市芦淞区人民政府" not in page.text
    book = openpyxl.load_workbook(
        io.BytesIO(editor_browser.get("/cases/notices.xlsx", params={"as_of": "2025-05-01"}).content)
    )
    units = {r[0] for r in book["通报"].iter_rows(min_row=2, values_only=True)}
    assert units == {"株洲市石峰区人民政府"}


def test_a_viewer_is_refused_and_an_anonymous_browser_signs_in(
    viewer_browser: TestClient, world: CaseWorld, client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    for path in ("/cases/notices", "/cases/notices.pdf", "/cases/notices.xlsx", "/cases/figures"):
        refused = viewer_browser.get(path, headers={"Accept": "text/html"})
        assert refused.status_code == 403, (path, refused.text[-600:])
        assert "仅供督查人员" in refused.text
    assert client.get("/cases/figures.json", headers=auth["viewer"]).status_code == 403
    assert client.get("/cases/figures.json").status_code == 401
    anonymous = TestClient(client.app, follow_redirects=False)
    to_login = anonymous.get("/cases/notices", headers={"Accept": "text/html"})
    assert to_login.status_code in (302, 303) and "/login" in to_login.headers["location"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"as_of": "2025-13-01"}, "截至日期"), ({"city": "北京"}, "城市"), ({"kind": "别的"}, "类型")],
)
def test_bad_filters_are_a_400_naming_them(
    client: TestClient, auth: dict[str, dict[str, str]], params: dict[str, str], parameter: str
) -> None:
    r = client.get("/cases/notices.xlsx", params=params, headers=auth["inspector"])
    assert r.status_code == 400 and parameter in r.json()["detail"]


def test_the_pdf_is_a4_with_its_chinese_text(inspector_browser: TestClient, world: CaseWorld, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = inspector_browser.get("/cases/notices.pdf", params={"as_of": "2025-05-01"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and b"NotoSansCJK" in r.content
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline;")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/bootstrap.sh test) is missing")
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(r.content)
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "逾期和问题严重案件通报" in words
    assert "株洲市石峰区人民政府" in words and world.numbers["late"] in words
    assert "截至 2025年05月01日" in words
    size = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "595.44 x 841.68 pts (A4)" in size or "(A4)" in size


def test_a_case_closed_today_leaves_todays_notice(
    engine: Engine, owner_engine: Engine, inspector_browser: TestClient, world: CaseWorld
) -> None:
    today = date.today()
    with engine.begin() as conn:
        case_id = insert_case(
            conn,
            number=f"测〔今日〕{TAG}",
            kind="违法违规",
            title="今日销号的案件",
            wkt=point_in(conn, "湘潭市"),
            city="湘潭市",
            found_on=date(2025, 1, 2),
            responsible_unit_id=world.units["luosong"],
            deadline=date(2025, 1, 31),
            status="整改中",
        )
    try:
        assert f"测〔今日〕{TAG}" in inspector_browser.get("/cases/notices").text
        with engine.begin() as conn:
            conn.execute(text("UPDATE cases SET status = '销号', closed_at = now() WHERE id = :id"), {"id": case_id})
            add_event(conn, case_id, "销号", today, "accept", "整改中")
        assert f"测〔今日〕{TAG}" not in inspector_browser.get("/cases/notices").text
    finally:
        remove_cases(owner_engine, [case_id])
