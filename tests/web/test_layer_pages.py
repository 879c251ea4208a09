"""The layer pages (/gis/..., issue 20) through the HTTP interface: who may open them, CSRF, escaping of what a
file brings (field names, samples), the preview's refusals beside the form, publishing through the job page,
and screening rules refused with the line at fault."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.layers.published_kit import drop_published
from tests.layers.redline_files import REDLINE_V1, write_redline_shapefile
from tests.web.conftest import BROWSER_ACCEPT, WebUser, csrf_of, make_user, signed_in_browser

HOSTILE = "<script>alert(1)</script>"
INJECTION = "geom; DROP TABLE"


@pytest.fixture(scope="module")
def gis_user(engine: Engine) -> WebUser:
    return make_user(f"web-gis-{uuid.uuid4().hex[:6]}", "gis")


@pytest.fixture(scope="module")
def viewer_user(engine: Engine) -> WebUser:
    return make_user(f"web-viewer-{uuid.uuid4().hex[:6]}", "viewer")


@pytest.fixture
def gis(app: FastAPI, gis_user: WebUser) -> Iterator[TestClient]:
    yield from signed_in_browser(app, gis_user)


@pytest.fixture
def viewer(app: FastAPI, viewer_user: WebUser) -> Iterator[TestClient]:
    yield from signed_in_browser(app, viewer_user)


@pytest.fixture
def layer_id(owner_engine: Engine) -> Iterator[str]:
    name = f"web_lp_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        drop_published(owner_engine, name)


def _hostile_geojson() -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {HOSTILE: f"<b>样例{n}</b>", INJECTION: n, "名称": f"测试点{n}"},
            "geometry": {"type": "Point", "coordinates": [112.9 + n / 100, 28.2]},
        }
        for n in range(1, 4)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def _upload(client: TestClient, name: str, content: bytes, **form: str) -> httpx.Response:
    token = csrf_of(client.get("/gis/layers/new").text)
    return client.post(
        "/gis/layers/new",
        data={"csrf_token": token, **form},
        files={"file": (name, content, "application/octet-stream")},
    )


def _form_of(page: str) -> dict[str, str]:
    """The publish form's fields as the page fills them (text inputs, selected options, checked boxes)."""
    form = page.split('id="publish"', 1)[1].split("</form>", 1)[0]
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        values[name.group(1)] = _unescape(value.group(1) if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]*)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(r'<option value="([^"]*)"', body)
        values[name] = _unescape(chosen.group(1) if chosen else "")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]*)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = _unescape(body)
    return values


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def _until_done(client: TestClient, job_path: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(job_path)
        assert page.status_code == 200, page.text
        if "lp-state-done" in page.text or "lp-state-failed" in page.text:
            return page.text
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)


def test_every_page_renders_for_gis_and_the_nav_shows_it(gis: TestClient) -> None:
    listing = gis.get("/gis/layers")
    assert listing.status_code == 200, listing.text
    assert "图层管理" in listing.text and "发布新图层" in listing.text
    assert 'href="/gis/layers/green_heart"' in listing.text and "随系统" in listing.text
    assert 'href="/gis/layers" aria-current="page">图层</a>' in listing.text  # the top bar, for gis
    assert listing.headers["cache-control"] == "no-store"
    form = gis.get("/gis/layers/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text and "EPSG:4546" in form.text
    bundled = gis.get("/gis/layers/green_heart")
    assert bundled.status_code == 200 and "xiangmap layers load green_heart" in bundled.text
    assert gis.get("/gis/layers/no_such_layer", headers={"Accept": BROWSER_ACCEPT}).status_code == 404
    assert gis.get(f"/gis/jobs/{uuid.uuid4()}", headers={"Accept": BROWSER_ACCEPT}).status_code == 404


def test_a_viewer_gets_403_on_every_page(viewer: TestClient) -> None:
    for path in ("/gis/layers", "/gis/layers/new", "/gis/layers/green_heart", f"/gis/layers/new/{uuid.uuid4()}"):
        page = viewer.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 403 and "没有权限" in page.text, path
    assert "/gis/layers" not in viewer.get("/me").text  # no top-bar link either


def test_a_post_without_the_csrf_token_is_refused(gis: TestClient) -> None:
    sent = gis.post("/gis/layers/new", files={"file": ("a.geojson", _hostile_geojson(), "application/json")})
    assert sent.status_code == 403
    assert gis.post("/gis/layers/green_heart/rules", data={"rules": "layer: x"}).status_code == 403
    wrong = {"action": "retire", "csrf_token": "wrong"}
    assert gis.post("/gis/layers/green_heart/status", data=wrong).status_code == 403


def test_hostile_field_names_are_shown_escaped_and_their_columns_made_safe(gis: TestClient) -> None:
    sent = _upload(gis, "hostile.geojson", _hostile_geojson())
    assert sent.status_code == 303, sent.text
    preview = gis.get(sent.headers["location"])
    assert preview.status_code == 200, preview.text
    assert HOSTILE not in preview.text and "<b>样例" not in preview.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.text and "&lt;b&gt;样例1&lt;/b&gt;" in preview.text
    form = _form_of(preview.text)
    columns = {v for k, v in form.items() if k.startswith("column_")}
    assert columns == {"script_alert_1_script", "geom_drop_table", "名称"}
    assert all(re.fullmatch(r"\w+", c) for c in columns)
    assert "3" in preview.text and "EPSG:4326" in preview.text


def test_a_bad_layer_id_is_said_beside_the_form_not_500(gis: TestClient) -> None:
    sent = _upload(gis, "points.geojson", _hostile_geojson())
    path = sent.headers["location"]
    form = _form_of(gis.get(path).text) | {"layer_id": "Bad-ID!", "title_zh": "测试图层 <i>标题</i>"}
    refused = gis.post(path, data=form)
    assert refused.status_code == 400, refused.text
    assert "图层编号“Bad-ID!”不可用" in refused.text and 'role="alert"' in refused.text
    assert 'value="测试图层 &lt;i&gt;标题&lt;/i&gt;"' in refused.text  # what was typed is kept, escaped
    taken = gis.post(path, data=form | {"layer_id": "green_heart"})
    assert taken.status_code == 409 and "已被使用" in taken.text
    untitled = gis.post(path, data=form | {"layer_id": "web_lp_untitled", "title_zh": ""})
    assert untitled.status_code == 400 and "中文名称" in untitled.text
    bad_column = gis.post(path, data=form | {"layer_id": "web_lp_badcol", "column_0": "a b;c"})
    assert bad_column.status_code == 400 and "只能含字母" in bad_column.text
    assert gis.post(path, data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403


def test_an_unreadable_file_is_refused_on_the_form(gis: TestClient) -> None:
    refused = _upload(gis, "notes.txt", b"hello")
    assert refused.status_code == 415 and "无法读取这个文件" in refused.text
    broken = _upload(gis, "broken.geojson", b"{not json")
    assert broken.status_code in (400, 422) and 'role="alert"' in broken.text


def test_publish_follow_the_job_then_rules_refused_with_the_line(
    gis: TestClient, layer_id: str, tmp_path: Path
) -> None:
    archive = write_redline_shapefile(tmp_path, REDLINE_V1, with_cpg=False)
    sent = _upload(gis, archive.name, archive.read_bytes())
    assert sent.status_code == 303, sent.text
    path = sent.headers["location"]
    preview = gis.get(path).text
    assert "韶山水源涵养生态保护红线" in preview and "EPSG:4546" in preview
    form = _form_of(preview) | {
        "layer_id": layer_id,
        "title_zh": "生态保护红线（测试）",
        "key_field": "BH",
        "name_field": "HXMC",
        "subzone_field": "LX",
        "protected": "1",
    }
    started = gis.post(path, data=form)
    assert started.status_code == 303, started.text
    job_path = started.headers["location"]
    assert job_path.startswith("/gis/jobs/")
    fragment = gis.get(job_path.replace("?", "/progress?"))
    assert fragment.status_code == 200 and 'id="job-progress"' in fragment.text and "<html" not in fragment.text
    done = _until_done(gis, job_path)
    assert "lp-state-done" in done, done
    assert "100%" in done and f"/collections/{layer_id}/items" in done

    page = gis.get(f"/gis/layers/{layer_id}")
    assert page.status_code == 200 and "筛查规则" in page.text and "发布" in page.text
    assert f"layer: {layer_id}" in page.text  # the template to start from
    listing = gis.get("/gis/layers").text
    assert f'href="/gis/layers/{layer_id}"' in listing and "已发布" in listing

    token = csrf_of(page.text)
    bad = f'layer: {layer_id}\nscheme: "*"\nregulation: 测试\nsubzones:\n  "*":\n    default:\n      verdict: maybe\n'
    refused = gis.post(f"/gis/layers/{layer_id}/rules", data={"csrf_token": token, "rules": bad})
    assert refused.status_code == 400, refused.text
    assert "第 7 行有误" in refused.text and "verdict: maybe" in refused.text  # the text is kept
    broken = gis.post(f"/gis/layers/{layer_id}/rules", data={"csrf_token": token, "rules": "layer: [unclosed\n"})
    assert broken.status_code == 400 and "第 " in broken.text and "行有误" in broken.text

    template = _unescape(re.search(r'name="rules"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    accepted = gis.post(f"/gis/layers/{layer_id}/rules", data={"csrf_token": token, "rules": template})
    assert accepted.status_code == 303, accepted.text
    after = gis.get(f"/gis/layers/{layer_id}").text
    assert "已保存筛查规则" in after and f"/layers/{layer_id}/rules/" in after and "现行" in after

    no_mode = gis.post(
        f"/gis/layers/{layer_id}/versions",
        data={"csrf_token": token, "mode": ""},
        files={"file": (archive.name, archive.read_bytes(), "application/zip")},
    )
    assert no_mode.status_code == 400 and "替换全部" in no_mode.text

    retired = gis.post(f"/gis/layers/{layer_id}/status", data={"csrf_token": token, "action": "retire", "note": "测试"})
    assert retired.status_code == 303
    page = gis.get(f"/gis/layers/{layer_id}").text
    assert "已停用" in page and "恢复图层" in page
    assert gis.get(f"/collections/{layer_id}").status_code == 404  # no longer served
    restored = gis.post(f"/gis/layers/{layer_id}/status", data={"csrf_token": token, "action": "restore"})
    assert restored.status_code == 303 and "恢复图层" not in gis.get(f"/gis/layers/{layer_id}").text


def test_a_job_that_fails_says_why_and_links_back_to_the_preview(gis: TestClient, owner_engine: Engine) -> None:
    """A value only the load finds (text in a column made a whole number): the job fails, nothing is made."""
    sent = _upload(gis, "points.geojson", _hostile_geojson())
    path = sent.headers["location"]
    form = _form_of(gis.get(path).text) | {"layer_id": "web_fail_typed", "title_zh": "类型不符", "type_0": "bigint"}
    try:
        started = gis.post(path, data=form)
        assert started.status_code == 303, started.text
        failed = _until_done(gis, started.headers["location"])
        assert "lp-state-failed" in failed and "发布失败，图层没有任何改动" in failed
        assert "is not a whole number" in failed and f'href="{path}"' in failed  # back to the same preview
        assert gis.get(path).status_code == 200
        assert gis.get("/gis/layers/web_fail_typed", headers={"Accept": BROWSER_ACCEPT}).status_code == 404
    finally:
        drop_published(owner_engine, "web_fail_typed")
