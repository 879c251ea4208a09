"""The patrol form and the case page over HTTP against the real PostGIS: errors kept next to their field,
escaping, who sees what (a viewer 403, another unit's editor 404), CSRF, a stale ETag refused."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.case_pages.conftest import HOSTILE, CaseWorld, jpeg, signed_in


def _form(world: CaseWorld, token: str, **changes: str) -> dict[str, str]:
    lon, lat = world.point
    values = {
        "csrf_token": token,
        "kind": "巡查发现",
        "title": "绿心核心区新建厂房",
        "description": "现场发现正在浇筑地基",
        "severity": "严重",
        "found_on": date.today().isoformat(),
        "geom": json.dumps({"type": "Point", "coordinates": [lon, lat]}),
        "position_source": "gps",
        "accuracy_m": "12",
        "responsible_unit_id": str(world.unit),
        "rectification": "停止施工，恢复原状",
        "deadline": (date.today() + timedelta(days=30)).isoformat(),
    }
    return values | changes


def _file(browser: TestClient, world: CaseWorld, token: str, **changes: str) -> int:
    answer = browser.post(
        "/cases/new", data=_form(world, token, **changes), files=[("photos", ("现场.jpg", jpeg(), "image/jpeg"))]
    )
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def _etag(browser: TestClient, case_id: int) -> str:
    page = browser.get(f"/cases/{case_id}", headers={"Accept": "text/html"}).text
    found = re.search(r'name="etag" value="([^"]+)"', page)
    assert found
    return found.group(1).replace("&#34;", '"')


def test_the_form_opens_for_an_inspector_with_a_finding_by_default(browser: TestClient, case_world: CaseWorld) -> None:
    signed_in(browser, case_world.inspector)
    page = browser.get("/cases/new")
    assert page.status_code == 200
    assert re.search(r'value="巡查发现" checked', page.text)
    assert 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    assert "使用当前位置" in page.text and "株洲市石峰区人民政府" in page.text
    assert 'href="/cases"' in page.text  # 案件 in the top bar


def test_errors_sit_by_their_field_and_keep_what_was_typed(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    found = date.today().isoformat()
    answer = browser.post(
        "/cases/new",
        data=_form(case_world, token, title="", deadline=(date.today() - timedelta(days=3)).isoformat(), geom=""),
    )
    assert answer.status_code == 400
    assert "请填写标题" in answer.text
    assert f"早于发现日期 {found}" in answer.text
    assert "请确定位置" in answer.text
    assert "现场发现正在浇筑地基" in answer.text and "停止施工，恢复原状" in answer.text  # kept
    assert f'<option value="{case_world.unit}" selected' in answer.text


def test_a_position_out_of_range_is_refused_by_the_place_field(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    swapped = '{"type":"Point","coordinates":[28.1,113.0]}'
    answer = browser.post("/cases/new", data=_form(case_world, token, geom=swapped))
    assert answer.status_code == 400
    assert 'id="e-geom-1"' in answer.text and "经纬度" in answer.text  # swapped axes, next to the place


def test_a_case_is_registered_screened_and_its_title_escaped(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    case_id = _file(browser, case_world, token, title=HOSTILE)
    page = browser.get(f"/cases/{case_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;绿心违建" in page.text
    assert "禁止建设" in page.text and "核心保护区" in page.text  # the screening, in Chinese
    assert "手机定位" in page.text and "精度约 12 米" in page.text
    assert "现场.jpg" in page.text and "照片无拍摄位置" in page.text
    assert re.search(r"<form[^>]+/steps/assign", page.text) and 'name="etag" value="&#34;c' in page.text


def test_a_viewer_gets_403_and_another_units_editor_404(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    case_id = _file(browser, case_world, token)
    browser.cookies.clear()
    signed_in(browser, case_world.viewer)
    assert browser.get("/cases/new", headers={"Accept": "text/html"}).status_code == 403
    refused = browser.get(f"/cases/{case_id}", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "没有权限" in refused.text
    browser.cookies.clear()
    signed_in(browser, case_world.other_editor)
    assert browser.get(f"/cases/{case_id}", headers={"Accept": "text/html"}).status_code == 404
    assert browser.get("/cases/new", headers={"Accept": "text/html"}).status_code == 403  # editors do not register


def test_a_form_without_its_csrf_token_is_refused(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    data = _form(case_world, token)
    del data["csrf_token"]
    answer = browser.post("/cases/new", data=data, headers={"Accept": "text/html"})
    assert answer.status_code == 403


def test_a_stale_etag_says_reload_and_changes_nothing(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    case_id = _file(browser, case_world, token)
    etag = _etag(browser, case_id)
    first = browser.post(
        f"/cases/{case_id}/steps/assign",
        data={"csrf_token": token, "etag": etag, "responsible_unit_id": str(case_world.unit), "note": "请限期整改"},
    )
    assert first.status_code == 303
    again = browser.post(f"/cases/{case_id}/steps/withdraw", data={"csrf_token": token, "etag": etag, "note": "重复"})
    assert again.status_code == 412 and "已被他人更新，请刷新" in again.text
    page = browser.get(f"/cases/{case_id}", headers={"Accept": "text/html"}).text
    assert "交办" in page and "重复" not in page


def test_a_refused_step_says_why(browser: TestClient, case_world: CaseWorld) -> None:
    token = signed_in(browser, case_world.inspector)
    case_id = _file(browser, case_world, token)
    etag = _etag(browser, case_id)
    answer = browser.post(f"/cases/{case_id}/steps/withdraw", data={"csrf_token": token, "etag": etag, "note": " "})
    assert answer.status_code == 400 and "须写明原因" in answer.text
