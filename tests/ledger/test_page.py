"""GET /ledger in a browser session: sign-in required, filters as GET parameters, the editor's default,
hostile text escaped, the htmx answer is the table alone."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ledger.conftest import HOSTILE, PLAN_ORDER, TASKS, LedgerWorld
from tests.web.conftest import BROWSER_ACCEPT

ROW = re.compile(r'<tr data-id="(\d+)"')


def shown(world: LedgerWorld, html: str) -> list[str]:
    return [world.key_of(int(i)) for i in ROW.findall(html)]


def test_signed_out_goes_to_login(app: FastAPI, world: LedgerWorld) -> None:
    with TestClient(app, follow_redirects=False) as c:
        r = c.get("/ledger", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_coordinator_sees_the_plan_in_order(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    r = coordinator_browser.get("/ledger", params={"plan": world.plan, "as_of": "2018-03"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert shown(world, r.text) == PLAN_ORDER
    for header in (
        "序号",
        "任务",
        "牵头单位",
        "责任单位",
        "完成时限",
        "进度分类",
        "完成进度",
        "节点计划",
        "空间进度",
        "最新进展",
        "滞后依据",
        "滞后原因",
    ):
        assert f">{header}</th>" in r.text
    assert "截至 2018-03：共<strong>4</strong>项任务" in r.text
    assert ">计划</th>" not in r.text  # one plan chosen: its column is left out of the page (not the export)
    assert f'href="/ledger.xlsx?plan={world.plan}&amp;as_of=2018-03"' in r.text


def test_hostile_title_and_note_are_escaped(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    r = coordinator_browser.get("/ledger", params={"plan": world.plan, "as_of": "2018-03"})
    assert HOSTILE not in r.text and "<script>alert" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;清水塘整治" in r.text


def test_filters_are_get_parameters(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    r = coordinator_browser.get(
        "/ledger", params={"plan": world.plan, "as_of": "2018-03", "unit": str(world.units["luosong"])}
    )
    assert shown(world, r.text) == ["t1"]
    r = coordinator_browser.get("/ledger", params={"plan": world.plan, "as_of": "2018-03", "status": "not_started"})
    assert shown(world, r.text) == ["t3"]  # a class's English alias, as /stats takes
    assert coordinator_browser.get("/ledger", params={"status": "nope"}).status_code == 400
    assert coordinator_browser.get("/ledger", params={"year": "x"}).status_code == 400


def test_editor_defaults_to_their_unit(editor_browser: TestClient, world: LedgerWorld) -> None:
    r = editor_browser.get("/ledger", params={"plan": world.plan, "as_of": "2018-03"})
    assert shown(world, r.text) == ["t10"]  # 石峰区人民政府 is responsible for t10 only
    assert f'<option value="{world.units["shifeng"]}" selected>' in r.text
    everything = editor_browser.get("/ledger", params={"plan": world.plan, "as_of": "2018-03", "unit": ""})
    assert shown(world, everything.text) == PLAN_ORDER  # 全部单位 on purpose


def test_htmx_gets_the_table_alone(coordinator_browser: TestClient, world: LedgerWorld) -> None:
    r = coordinator_browser.get(
        "/ledger", params={"plan": world.plan, "as_of": "2018-03", "category": "改革"}, headers={"HX-Request": "true"}
    )
    assert r.text.lstrip().startswith('<div id="ledger-table"') and "<html" not in r.text
    assert shown(world, r.text) == ["t1", "t2"]
    assert all(TASKS[k][5] == "改革" for k in shown(world, r.text))
