"""/maps/progress in headless Chromium with the internet cut off: it loads only from xiangmap, draws the
expected number of projects, and the filters and the time slider change what is drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from tests.browser.headless import Browser, Page
from tests.progress.world import World, build_world, drop_world, geojson, post_reports

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(engine: Engine, client, auth) -> Iterator[World]:  # type: ignore[no-untyped-def]
    built = build_world(engine, "maps")
    post_reports(
        client,
        auth,
        built.ids["point"],
        [
            {"period": "2018-03", "status": "推进中", "percent": 40},
            {"period": "2018-06", "status": "已完成", "percent": 100},
        ],
    )
    post_reports(
        client,
        auth,
        built.ids["line"],
        [
            {
                "period": "2018-06",
                "status": "推进中",
                "percent": 50,
                "done_geom": geojson(LineString([(1000, 2000), (1500, 2000)])),
            },
        ],
    )
    yield built
    drop_world(engine, built)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs /usr/bin/chromium")
    with Browser(width=1280, height=800, offline=True) as b:
        yield b


def open_map(browser: Browser, url: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    page.wait_for("window.XM && XM.state.drawn && XM.state.loads >= 1 && XM.state.facets", timeout=30)
    return page


def mapped_projects(engine: Engine, plan: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM projects WHERE plan_id = :p AND geom IS NOT NULL"), {"p": plan}
        ).scalar_one()


def test_page_works_offline_and_draws_every_located_project(
    browser: Browser, live_server: str, world: World, engine: Engine, tmp_path: Path
) -> None:
    page = open_map(browser, f"{live_server}/maps/progress?basemap=none&plan={world.plan}")
    state = page.evaluate("XM.state")
    assert state["errors"] == [] and page.console_errors == []
    # 4 of the 5 projects have a location: point, city and area draw as markers / shapes, line as a shape
    assert state["features"] == mapped_projects(engine, world.plan) == 4
    assert state["markers"] + state["shapes"] == 4
    assert page.evaluate("document.getElementById('xm-count').dataset.count") == "4"
    hosts = {urlsplit(u).hostname for u in page.requests if u.startswith("http")}
    assert hosts == {"127.0.0.1"}, page.requests
    assert page.failed == []
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in page.requests)
    assert any("/maps/data/projects.geojson" in u for u in page.requests)
    # Leaflet and the clustering library came from /static/vendor and work
    assert page.evaluate("typeof L.map + typeof Supercluster") == "functionfunction"
    assert any("/static/vendor/supercluster/supercluster.min.js" in u for u in page.requests)
    page.screenshot(tmp_path / "progress.png")


def test_filters_change_what_is_drawn(browser: Browser, live_server: str, world: World) -> None:
    page = open_map(browser, f"{live_server}/maps/progress?basemap=none&plan={world.plan}")
    page.evaluate("XM.setFilter('category', '碧水蓝天')")
    page.wait_for("XM.state.drawn && XM.state.loads >= 2")
    assert page.evaluate("XM.state.features") == 2  # line and city
    assert "category=" in page.evaluate("location.search")
    page.evaluate(f"XM.setFilter('district', '{world.district_names[0]}')")
    page.wait_for("XM.state.drawn && XM.state.loads >= 3")
    assert page.evaluate("XM.state.features") == 1  # only the line lies in 甲区
    # the filter also works straight from the query string
    direct = open_map(
        browser, f"{live_server}/maps/progress?basemap=none&plan={world.plan}&status=已完成&as_of=2018-06"
    )
    assert direct.evaluate("XM.state.features") == 1


def test_time_slider_steps_through_report_periods(browser: Browser, live_server: str, world: World) -> None:
    page = open_map(browser, f"{live_server}/maps/progress?basemap=none&plan={world.plan}&status=已完成")
    periods = page.wait_for("XM.state.facets && XM.state.periods")
    assert "2018-03" in periods and "2018-06" in periods
    page.evaluate("XM.setPeriod('2018-03')")
    page.wait_for("XM.state.drawn && XM.state.asOf === '2018-03'")
    assert page.evaluate("XM.state.features") == 0  # nothing done yet in March
    assert page.evaluate("document.getElementById('xm-period').textContent") == "截至 2018年03月"
    page.evaluate("XM.setPeriod('2018-06')")
    page.wait_for("XM.state.drawn && XM.state.asOf === '2018-06'")
    assert page.evaluate("XM.state.features") == 1  # the point project was done in June


def test_popup_tells_the_project_in_chinese(browser: Browser, live_server: str, world: World) -> None:
    page = open_map(browser, f"{live_server}/maps/progress?basemap=none&plan={world.plan}&as_of=2018-06")
    text = page.evaluate(f"XM.popup({world.ids['line']})")
    for expected in ("测试项目 line", "完成测试项目line的建设任务", "市住建局、市城管局", "正常推进", "50%", "2018-06"):
        assert expected in text, text


def test_district_choropleth_has_completion_rates(client, world: World) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/maps/data/districts.geojson", params={"plan": world.plan, "as_of": "2018-06"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    by_name = {f["properties"]["name"]: f["properties"] for f in r.json()["features"]}
    jia = by_name[world.district_names[0]]
    assert (jia["projects"], jia["done"], jia["completion_rate"]) == (2, 1, 0.5)


def test_project_map_shows_planned_and_done(browser: Browser, live_server: str, world: World, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/maps/projects/{world.ids['line']}?basemap=none")
    page.wait_for("window.XM && XM.state.drawn")
    state = page.evaluate("XM.state")
    assert state["reports"] == 1 and state["features"] >= 2  # planned + done
    assert "已建 500 / 1000 米" in page.evaluate("document.getElementById('xm-project').innerText")
    assert {urlsplit(u).hostname for u in page.requests if u.startswith("http")} == {"127.0.0.1"}
    page.screenshot(tmp_path / "project.png")
