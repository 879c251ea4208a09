"""The pages and the API over HTTP: who may upload, CSRF, the 4xx answers and what they say, preview then commit."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.plan_uploads.conftest import TAG, signed_in
from tests.plan_uploads.office_sheet import BROKEN_PROBLEMS, CLEAN_TASKS
from tests.web.conftest import BROWSER_ACCEPT, csrf_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = {"Accept": BROWSER_ACCEPT}


def _post_file(client: TestClient, path: Path, data: dict[str, str], csrf: str | None) -> object:
    fields = {**data, **({"csrf_token": csrf} if csrf is not None else {})}
    with path.open("rb") as fh:
        return client.post("/plans/upload", data=fields, files={"file": (path.name, fh, XLSX)}, headers=PAGE)


def _csrf(client: TestClient) -> str:
    page = client.get("/plans/upload", headers=PAGE)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def test_the_form_asks_for_the_file_year_and_city(coordinator: TestClient) -> None:
    page = coordinator.get("/plans/upload", headers=PAGE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    for words in ('type="file"', 'name="year"', 'name="city"', 'name="plan"', 'name="title"', "株洲市", "湖南省"):
        assert words in html
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert 'href="/plans/upload"' in html and "导入计划" in html  # the nav link, for a coordinator


def test_an_editor_of_no_unit_and_a_viewer_are_refused_with_the_reason(  # type: ignore[no-untyped-def]
    editor: TestClient, app, planners, sheets: dict[str, Path], auth
) -> None:
    # an editor may upload their own unit's plan (decision 0183): one who belongs to no unit is told so
    page = editor.get("/plans/upload", headers=PAGE)
    assert page.status_code == 403 and "未归属任何单位" in page.text and "assign-user" in page.text
    assert 'href="/plans/upload"' in editor.get("/me", headers=PAGE).text  # the nav link, for an editor too
    token = csrf_of(editor.get("/me", headers=PAGE).text)
    response = _post_file(editor, sheets["clean"], {"plan": f"{TAG}-no"}, token)
    assert response.status_code == 403 and "未归属任何单位" in response.text  # type: ignore[attr-defined]
    viewer = signed_in(app, planners["viewer"])
    page = viewer.get("/plans/upload", headers=PAGE)
    assert page.status_code == 403 and "统筹" in page.text and "编辑" in page.text
    assert 'href="/plans/upload"' not in viewer.get("/me", headers=PAGE).text  # no nav link for a viewer
    viewer.close()
    with sheets["clean"].open("rb") as fh:
        api = editor.post("/plans/uploads", files={"file": ("a.xlsx", fh, XLSX)}, headers=auth["viewer"])
    assert api.status_code == 403 and "editor" in api.json()["detail"]


def test_signed_out_browsers_go_to_login(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as anonymous:
        response = anonymous.get("/plans/upload", headers=PAGE)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/plans/upload"


def test_a_post_without_the_csrf_token_is_refused(coordinator: TestClient, sheets: dict[str, Path]) -> None:
    response = _post_file(coordinator, sheets["clean"], {"plan": f"{TAG}-csrf"}, None)
    assert response.status_code == 403  # type: ignore[attr-defined]
    commit = coordinator.post("/plans/upload/00000000-0000-0000-0000-000000000000/commit", headers=PAGE)
    assert commit.status_code == 403


def test_broken_file_422_with_every_problem_and_no_commit_button(
    coordinator: TestClient, sheets: dict[str, Path]
) -> None:
    response = _post_file(coordinator, sheets["broken"], {"plan": f"{TAG}-broken"}, _csrf(coordinator))
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    for row, column in BROKEN_PROBLEMS.values():
        assert f"第 {row} 行 · {column}" in html
    assert "未知单位名称“市住建居”" in html and "株洲市住房和城乡建设局" in html
    assert "无法识别的完成时限“尽快”" in html and "任务内容为空" in html and "重复" in html
    assert "确认提交" not in html and "/commit" not in html


def test_preview_then_commit_lands_in_the_ledger(coordinator: TestClient, sheets: dict[str, Path]) -> None:
    plan = f"{TAG}-clean"
    response = _post_file(coordinator, sheets["clean"], {"plan": plan}, _csrf(coordinator))
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert f"<strong>{CLEAN_TASKS}</strong> 新增" in html and "读自标题行" in html and "确认提交" in html
    action = re.search(r'action="(/plans/upload/[0-9a-f-]+/commit)"', html)
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', html)
    assert action and sha
    token = csrf_of(html)
    committed = coordinator.post(action.group(1), data={"csrf_token": token, "sha256": sha.group(1)}, headers=PAGE)
    assert committed.status_code == 303 and committed.headers["location"] == f"/ledger?plan={plan}"
    ledger = coordinator.get(committed.headers["location"], headers=PAGE)
    assert ledger.status_code == 200
    assert f"新增 {CLEAN_TASKS} 项" in ledger.text and "环保市场化改革" in ledger.text
    again = coordinator.post(action.group(1), data={"csrf_token": token}, headers=PAGE)
    assert again.status_code == 409 and "已于" in again.text  # pressed twice: committed once
    same = _post_file(coordinator, sheets["clean"], {"plan": plan}, token)
    assert same.status_code == 200 and "完全一致，无需提交" in same.text  # type: ignore[attr-defined]
    assert f"<strong>{CLEAN_TASKS}</strong> 不变" in same.text  # type: ignore[attr-defined]


def test_bad_files_get_a_chinese_page_with_the_reason(
    coordinator: TestClient, tmp_path: Path, sheets: dict[str, Path]
) -> None:
    token = _csrf(coordinator)
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    response = _post_file(coordinator, pdf, {}, token)
    assert response.status_code == 415 and "不支持的文件类型" in response.text  # type: ignore[attr-defined]
    empty = coordinator.post("/plans/upload", data={"csrf_token": token}, headers=PAGE)
    assert empty.status_code == 400 and "请选择要上传的文件" in empty.text
    headless = tmp_path / "x.csv"
    headless.write_text("甲,乙\n1,2\n", encoding="utf-8")
    response = _post_file(coordinator, headless, {}, token)
    assert response.status_code == 422 and "找不到表头" in response.text  # type: ignore[attr-defined]
    bad_year = _post_file(coordinator, sheets["clean"], {"year": "18", "plan": f"{TAG}-year"}, token)
    assert bad_year.status_code == 422 and "计划信息" in bad_year.text  # type: ignore[attr-defined]
    assert "年份“18”不是 1990-2100 之间的四位年份" in bad_year.text  # type: ignore[attr-defined]


def test_what_the_sheet_says_is_shown_as_text(coordinator: TestClient, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(
        "序号,重点任务,牵头单位\n1,<script>alert(1)</script>清水塘整治,市环保局\n2,整治,<b>市住建居\n",
        encoding="utf-8",
    )
    response = _post_file(
        coordinator, hostile, {"plan": f"{TAG}-xss", "year": "2018", "city": "株洲市", "title": "t"}, _csrf(coordinator)
    )
    html = response.text  # type: ignore[attr-defined]
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;清水塘整治" in html
    assert "<b>市住建居" not in html and "未知单位名称“&lt;b&gt;市住建居”" in html


def test_api_preview_english_reasons_and_commit(client: TestClient, auth, sheets: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    with sheets["broken"].open("rb") as fh:
        broken = client.post(
            "/plans/uploads",
            files={"file": ("broken.xlsx", fh, XLSX)},
            data={"plan": f"{TAG}-api"},
            headers=auth["coordinator"],
        )
    assert broken.status_code == 422 and broken.headers["content-type"] == "application/problem+json"
    body = broken.json()
    assert not body["committable"] and {(p["row"], p["column"]) for p in body["problems"]} >= set(
        BROKEN_PROBLEMS.values()
    )
    unit = next(p for p in body["problems"] if "市住建居" in p["reason"])
    assert unit["reason"].startswith("unknown unit name") and unit["reason_zh"] and unit["suggestions"]
    refused = client.post(f"/plans/uploads/{body['upload']}/commit", headers=auth["coordinator"])
    assert refused.status_code == 422 and refused.json()["problems"]
    with sheets["xls"].open("rb") as fh:
        clean = client.post(
            "/plans/uploads",
            files={"file": ("plan.xls", fh, "application/vnd.ms-excel")},
            data={"plan": f"{TAG}-api", "year": "2018", "city": "株洲市"},
            headers=auth["coordinator"],
        )
    assert clean.status_code == 200, clean.text
    preview = clean.json()
    assert preview["format"] == "xls" and preview["counts"]["created"] == CLEAN_TASKS and preview["problems"] == []
    assert preview["plan"]["from"]["year"] == "form"
    wrong = client.post(f"/plans/uploads/{preview['upload']}/commit?sha256={'0' * 64}", headers=auth["coordinator"])
    assert wrong.status_code == 409
    done = client.post(f"/plans/uploads/{preview['upload']}/commit", headers=auth["coordinator"])
    assert done.status_code == 200 and done.json()["created"] == CLEAN_TASKS
    with sheets["edited"].open("rb") as fh:
        edited = client.post(
            "/plans/uploads",
            files={"file": ("edited.xlsx", fh, XLSX)},
            data={"plan": f"{TAG}-api"},
            headers=auth["coordinator"],
        )
    counts = edited.json()["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 2, CLEAN_TASKS - 2)
    assert client.post("/plans/uploads", headers=auth["viewer"]).status_code == 403
    with sheets["clean"].open("rb") as fh:  # the editor token's account belongs to no unit
        nobody = client.post("/plans/uploads", files={"file": ("a.xlsx", fh, XLSX)}, headers=auth["editor"])
    assert nobody.status_code == 403 and "belongs to no unit" in nobody.json()["detail"]


def test_the_api_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/plans/uploads"] and "post" in paths["/plans/uploads/{upload_id}/commit"]
    assert "/plans/upload" not in paths  # the pages are for people


def test_a_district_editor_uploads_their_units_plan(app, planners, sheets: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    from service.database import session_scope
    from service.units import usecases as units
    from tests.web.conftest import make_user

    user = make_user(f"{TAG}-shifeng", "editor")  # removed with the planners
    with session_scope() as session:
        units.assign_user(session, "test", user.name, units.find_unit_id(session, "株洲市石峰区人民政府"))
    editor = signed_in(app, user)
    token = _csrf(editor)
    refused = _post_file(editor, sheets["clean"], {"plan": "zhuzhou-2018"}, token)
    assert refused.status_code == 422 and "两型办的计划" in refused.text  # type: ignore[attr-defined]
    assert "确认提交" not in refused.text  # type: ignore[attr-defined]
    plan = f"{TAG}-own"
    preview = _post_file(editor, sheets["clean"], {"plan": plan}, token)
    html = preview.text  # type: ignore[attr-defined]
    assert preview.status_code == 200 and html.count("不在本单位台账") >= 4 and "株洲市石峰区人民政府" in html  # type: ignore[attr-defined]
    action = re.search(r'action="(/plans/upload/[0-9a-f-]+/commit)"', html)
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', html)
    assert action and sha
    committed = editor.post(action.group(1), data={"csrf_token": token, "sha256": sha.group(1)}, headers=PAGE)
    assert committed.status_code == 303 and committed.headers["location"] == f"/ledger?plan={plan}"
    ledger = editor.get(committed.headers["location"], headers=PAGE)
    assert "<strong>6</strong>" in ledger.text and "基本完成职工安置" in ledger.text  # their unit's tasks only
    assert "国家低碳城市试点" not in ledger.text
    editor.close()
