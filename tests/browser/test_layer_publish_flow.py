"""GIS staff publish a protected layer from a file in a real Chromium, offline, under the strict CSP (issue 20).

A gis user uploads the GBK Shapefile of 生态保护红线 without a .cpg (EPSG:4546), sees the preview (Chinese samples,
the CRS from the file, 3 MultiPolygon features), picks the key, name and sub-zone fields, marks it protected,
publishes, watches the percentage reach 100, finds version 1 on the layer's page and its 3 features with their
Chinese names at /collections/{id}/items; pastes a malformed rules file and is told the line, then a good one and
sees it listed; uploads the 2023 edition as 替换全部 and finds version 2.  At 1280 px and 390 px (no sideways
scroll on the phone); screenshots in ``XIANGMAP_SCREENSHOTS``: layers-*.png.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.browser.playwright_kit import Offline, sign_in
from tests.layers.published_kit import drop_published
from tests.layers.redline_files import REDLINE_V1, REDLINE_V2, write_redline_shapefile
from tests.web.conftest import WebUser, make_user

expect = pytest.importorskip("playwright.sync_api").expect
UPLOAD = re.compile(r".*/gis/layers/new/[0-9a-f-]{36}$")
JOB = re.compile(r".*/gis/jobs/[0-9a-f-]{36}.*")

MALFORMED_RULES = """layer: {layer}
scheme: "*"
regulation: 湖南省生态保护红线管理办法
subzones:
  "*":
    default:
      verdict: forbidden
      clause: 红线内禁止开发性、生产性建设活动。
"""
GOOD_RULES = """layer: {layer}
scheme: "*"
title: 湖南省生态保护红线
valid_from: 2018-06-29
valid_to: null
regulation: 湖南省生态保护红线 (湘政发〔2018〕20号)
all_subzones:
  industrial:
    verdict: prohibited
    clause: 生态保护红线内禁止工业开发。
subzones:
  水源涵养:
    default:
      verdict: prohibited
      clause: 水源涵养红线内禁止开发性、生产性建设活动。
  "*":
    default:
      verdict: needs_approval
      by: 湖南省人民政府
      clause: 生态保护红线内的有限人为活动须经省人民政府同意。
"""


def _until(view: Offline, script: str, seconds: float = 60) -> None:
    """Poll a page expression (the strict CSP forbids the string evaluation wait_for_function uses)."""
    deadline = time.monotonic() + seconds
    while not view.page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        view.page.wait_for_timeout(100)


def _watch_job(view: Offline) -> list[int]:
    """The percentages the progress page showed, polled until the job is done (htmx swaps the fragment)."""
    seen: list[int] = []
    deadline = time.monotonic() + 90
    while True:
        text = view.page.evaluate("() => (document.querySelector('.lp-percent') || {}).textContent || ''")
        if text.endswith("%") and (not seen or seen[-1] != int(text[:-1])):
            seen.append(int(text[:-1]))
        state = view.page.evaluate(
            "() => { const p = document.getElementById('job-progress'); return p ? p.className : ''; }"
        )
        if "lp-state-done" in state or "lp-state-failed" in state:
            return seen
        assert time.monotonic() < deadline, f"the job did not finish: {seen}"
        view.page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def gis_user(engine: Engine) -> WebUser:
    return make_user(f"browser-gis-{uuid.uuid4().hex[:6]}", "gis")


@pytest.fixture
def layer_id(owner_engine: Engine) -> Iterator[str]:
    name = f"redline_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        drop_published(owner_engine, name)


def test_publish_a_protected_layer_give_it_rules_and_replace_it(
    desk: Offline,
    phone: Offline,
    live_server: str,
    gis_user: WebUser,
    layer_id: str,
    shots: Path,
    tmp_path: Path,
    owner_engine: Engine,
    tokens: dict[str, str],
) -> None:
    v1 = write_redline_shapefile(tmp_path / "v1", REDLINE_V1, with_cpg=False)
    v2 = write_redline_shapefile(tmp_path / "v2", REDLINE_V2)
    page = desk.page

    sign_in(desk, live_server, gis_user, next_path="/gis/layers")
    expect(page.get_by_role("heading", name="图层管理")).to_be_visible()
    page.screenshot(path=str(shots / "layers-list.png"), full_page=True)
    page.get_by_role("link", name="发布新图层").click()
    page.wait_for_url(f"{live_server}/gis/layers/new")
    page.set_input_files("#f-file", str(v1))
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_url(UPLOAD)

    # the preview: GBK samples decoded, the CRS from the .prj, 3 MultiPolygons
    expect(page.locator(".lp-samples").filter(has_text="韶山水源涵养生态保护红线")).to_have_count(1)
    expect(page.locator(".lp-samples").filter(has_text="湘乡东山生物多样性维护红线")).to_have_count(1)
    expect(page.locator(".lp-crs")).to_contain_text("EPSG:4546")
    expect(page.locator(".lp-crs")).to_contain_text("文件所注")
    expect(page.locator(".lp-features")).to_have_text("3")
    expect(page.locator(".lp-geometry")).to_contain_text("MultiPolygon")
    expect(page.locator("#f-geometry_type")).to_have_value("MultiPolygon")
    assert "�" not in page.locator("main").inner_text()  # no mojibake
    page.locator("#f-layer_id").fill(layer_id)
    page.locator("#f-title_zh").fill("生态保护红线（湘潭西部）")
    page.locator("#f-key_field").select_option("BH")
    page.locator("#f-name_field").select_option("HXMC")
    page.locator("#f-subzone_field").select_option("LX")
    page.get_by_label("保护区：筛查使用").check()
    page.screenshot(path=str(shots / "layers-preview.png"), full_page=True)
    page.get_by_role("button", name="发布图层").click()
    page.wait_for_url(JOB)
    expect(page.get_by_role("heading", name=re.compile("发布进度"))).to_be_visible()
    seen = _watch_job(desk)
    assert seen and seen[-1] == 100, seen
    assert seen == sorted(seen), seen  # the percentage only goes up
    expect(page.locator(".lp-result-features")).to_have_text("3")
    expect(page.locator(".lp-result-version")).to_have_text("1")
    page.screenshot(path=str(shots / "layers-job-done.png"), full_page=True)
    job_url = page.url

    page.get_by_role("link", name="图层管理页").click()
    page.wait_for_url(f"{live_server}/gis/layers/{layer_id}")
    expect(page.locator(".lp-layer-version")).to_have_text("1")
    expect(page.locator(".lp-versions tbody tr")).to_have_count(1)
    expect(page.locator(".lp-versions tbody tr").first).to_contain_text("发布")
    expect(page.locator(".lp-versions tbody tr").first).to_contain_text(gis_user.name)
    items = page.request.get(f"{live_server}/collections/{layer_id}/items?limit=10")
    assert items.ok, items.text()
    features = items.json()["features"]
    assert len(features) == 3
    names = {str(v) for f in features for v in f["properties"].values()}
    assert {"韶山水源涵养生态保护红线", "湘乡东山生物多样性维护红线", "水府庙水土保持红线"} <= names

    # rules: a malformed file is refused with its line and kept; a good one is listed
    rules = page.locator("#r-rules")
    rules.fill(MALFORMED_RULES.format(layer=layer_id))
    page.get_by_role("button", name="检查并保存规则").click()
    expect(page.locator("#rules .form-error")).to_contain_text("第 7 行有误")
    expect(page.locator("#r-rules")).to_have_value(re.compile("verdict: forbidden"))
    page.locator("#rules").screenshot(path=str(shots / "layers-rules-refused.png"))
    page.locator("#r-rules").fill(GOOD_RULES.format(layer=layer_id))
    page.get_by_role("button", name="检查并保存规则").click()
    page.wait_for_url(f"{live_server}/gis/layers/{layer_id}")
    expect(page.locator(".flash-success")).to_contain_text("已保存筛查规则")
    expect(page.locator(".lp-rules tbody tr")).to_have_count(1)
    expect(page.locator(".lp-rules tbody tr").first).to_contain_text("2018-06-29")
    page.screenshot(path=str(shots / "layers-manage.png"), full_page=True)

    # an inspector screens a planned factory at 水府庙 (red line 003) against the layer and its own rules
    inspector = {"Authorization": f"Bearer {tokens['inspector']}"}
    site = {
        "geometry": {"type": "Point", "coordinates": [112.20, 27.75]},
        "crs": "EPSG:4326",
        "date": "2024-03-01",
        "category": "industrial",
        "name": "水府庙拟建厂房",
    }
    before = page.request.post(f"{live_server}/screening", data=site, headers=inspector)
    assert before.status == 201, before.text()
    entry = next(e for e in before.json()["layers"] if e["layer"] == layer_id)
    assert entry["verdict"] == "prohibited" and "工业" in entry["zones"][0]["clause"]

    # the 2023 edition replaces the layer: version 2, 3 features (003 gone, 004 new)
    page.set_input_files("#v-file", str(v2))
    page.get_by_label("替换全部").check()
    page.get_by_role("button", name="上传并更新").click()
    page.wait_for_url(JOB)
    seen = _watch_job(desk)
    assert seen[-1] == 100, seen
    expect(page.locator(".lp-result-version")).to_have_text("2")
    page.get_by_role("link", name="图层管理页").click()
    page.wait_for_url(f"{live_server}/gis/layers/{layer_id}")
    expect(page.locator(".lp-layer-version")).to_have_text("2")
    expect(page.locator(".lp-layer-features")).to_have_text("3")
    expect(page.locator(".lp-versions tbody tr").first).to_contain_text("替换全部")
    names = {
        str(v)
        for f in page.request.get(f"{live_server}/collections/{layer_id}/items").json()["features"]
        for v in f["properties"].values()
    }
    assert "涟水河口生态保护红线" in names and "水府庙水土保持红线" not in names
    # 003 is gone today; the screening made before the replacement replays against version 1, as it was
    today = page.request.post(f"{live_server}/screening", data=site, headers=inspector).json()
    assert next(e for e in today["layers"] if e["layer"] == layer_id)["verdict"] == "outside"
    replay = page.request.get(f"{live_server}/screenings/{before.json()['id']}/replay", headers=inspector).json()
    assert replay["same"] is True and replay["replayed_verdict"] == before.json()["verdict"], replay
    assert replay["layer_versions"][layer_id]["parts"] == "archive"
    assert desk.aborted == [] and desk.csp == []

    # a big file's job while it runs (a three-feature file is done before one can look): the bar, the phase in
    # Chinese, and htmx polling the fragment until the job is done
    with owner_engine.begin() as conn:
        running = conn.execute(
            text(
                "INSERT INTO layer_jobs (actor, action, layer, state, phase, done, total)"
                " VALUES (:actor, 'append', :layer, 'running', 'copy', 525000, 1000000) RETURNING id::text"
            ),
            {"actor": gis_user.name, "layer": layer_id},
        ).scalar_one()
    page.goto(f"{live_server}/gis/jobs/{running}")
    expect(page.locator(".lp-percent")).to_have_text("42%")
    expect(page.locator(".lp-phase")).to_have_text("读取并写入暂存")
    expect(page.locator("#job-progress")).to_have_attribute("hx-trigger", "every 1s")
    page.screenshot(path=str(shots / "layers-job-running.png"), full_page=True)
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE layer_jobs SET state = 'done', phase = 'index', finished_at = now(),"
                " result = CAST(:result AS jsonb) WHERE id = CAST(:id AS uuid)"
            ),
            {"id": running, "result": '{"version": 3, "features": 4, "repairs": 1}'},
        )
    _until(desk, "() => !!document.querySelector('.lp-state-done')", 10)  # swapped in by htmx, no reload
    expect(page.locator(".lp-result-version")).to_have_text("3")
    assert page.locator("#job-progress").get_attribute("hx-trigger") is None  # no more polling

    # the phone: the list, a preview, the job page and the layer page without sideways scroll
    sign_in(phone, live_server, gis_user, next_path="/gis/layers")
    assert phone.horizontal_overflow() <= 0
    phone.page.screenshot(path=str(shots / "layers-list-phone.png"), full_page=True)
    phone.page.goto(f"{live_server}/gis/layers/new")
    phone.page.set_input_files("#f-file", str(v2))
    phone.page.get_by_role("button", name="上传并预览").click()
    phone.page.wait_for_url(UPLOAD)
    expect(phone.page.locator(".lp-samples").filter(has_text="涟水河口生态保护红线")).to_have_count(1)
    assert phone.horizontal_overflow() <= 0
    phone.page.screenshot(path=str(shots / "layers-preview-phone.png"), full_page=True)
    phone.page.goto(job_url)
    expect(phone.page.locator(".lp-result-version")).to_have_text("1")
    assert phone.horizontal_overflow() <= 0
    phone.page.screenshot(path=str(shots / "layers-job-done-phone.png"), full_page=True)
    phone.page.goto(f"{live_server}/gis/layers/{layer_id}")
    assert phone.horizontal_overflow() <= 0
    phone.page.screenshot(path=str(shots / "layers-manage-phone.png"), full_page=True)
    assert phone.aborted == [] and phone.csp == []
