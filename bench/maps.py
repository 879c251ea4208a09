"""Time to first full draw of /maps/progress with 100 000 projects in headless Chromium (target: under 3 s).

Runs on its own throwaway PostGIS cluster (never the project's ``.data/``) with the app served by uvicorn
on a free loopback port and Chromium cut off from the internet.  Synthetic projects: 85 % points (mixed
precision), 10 % short lines, 5 % small areas, over Chang-Zhu-Tan; every other project has three monthly
reports.  "Full draw" is when the page has fetched the projects, built every line and area, indexed every
point for clustering and painted a frame (``XM.state.drawnAt``, ms from navigation start; the district
choropleth and the filter choices arrive just after).  The first page run is also the browser's first
start.  Also reports the data endpoint alone: cold (built in SQL) and cached (data unchanged).

    .venv/bin/python -m bench maps [--projects N] [--runs K]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from sqlalchemy import Engine, text

from bench.harness import serving, throwaway_database

TARGET_S = 3.0


def populate(engine: Engine, projects: int) -> None:
    """A plan with ``projects`` synthetic projects and reports for half of them, all in SQL."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plans (id, title, year) VALUES ('bench-maps', '基准测试计划', 2018)"))
        conn.execute(
            text(
                """
INSERT INTO projects (key, plan_id, title, task_text, category, lead_units, year, geom, precision, location_status)
SELECT 'bench-maps/' || i, 'bench-maps', '基准项目 ' || i, '基准测试任务 ' || i,
       (ARRAY['碧水蓝天', '绿心保护', '两型改革', '清水塘搬迁改造'])[1 + i % 4],
       ARRAY[(ARRAY['市发改委', '市住建局', '市生态环境局'])[1 + i % 3]], 2018,
       CASE WHEN r < 0.85 THEN ST_SetSRID(ST_MakePoint(x, y), 4326)
            WHEN r < 0.95 THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(x, y), ST_MakePoint(x + 0.01, y + 0.004)), 4326)
            ELSE ST_Multi(ST_MakeEnvelope(x, y, x + 0.004, y + 0.003, 4326)) END,
       (ARRAY[1, 1, 2, 5, 3, 8])[1 + i % 6], 'auto'
FROM (SELECT i, random() AS r, 112.7 + random() * 0.8 AS x, 27.6 + random() * 0.6 AS y
      FROM generate_series(1, :n) AS i) s
"""
            ),
            {"n": projects},
        )
        conn.execute(
            text(
                """
INSERT INTO progress_reports (project_id, period, status, percent, reported_by)
SELECT p.id, make_date(2018, m, 1),
       CASE WHEN m = 9 AND p.id % 5 = 0 THEN '已完成' WHEN p.id % 7 = 0 THEN '滞后' ELSE '推进中' END,
       CASE WHEN m = 9 AND p.id % 5 = 0 THEN 100 ELSE m * 8 END, 'bench'
FROM projects p CROSS JOIN (VALUES (3), (6), (9)) AS months(m)
WHERE p.plan_id = 'bench-maps' AND p.id % 2 = 0
"""
            )
        )
        conn.execute(text("ANALYZE"))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench maps", description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    with throwaway_database() as engine:
        t0 = time.perf_counter()
        populate(engine, args.projects)
        print(f"{args.projects} projects and their reports inserted in {time.perf_counter() - t0:.1f} s")
        run(engine, args)


def run(engine: Engine, args: argparse.Namespace) -> None:
    from tests.browser.headless import Browser

    with serving() as base:
        data_url = f"{base}/maps/data/projects.geojson?plan=bench-maps"
        timings, size = [], 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = httpx.get(data_url, headers={"Accept-Encoding": "gzip"}, timeout=120)
            timings.append(time.perf_counter() - t0)
            size = int(response.headers.get("content-length", len(response.content)))
            assert len(response.json()["features"]) == args.projects
        print(
            f"data endpoint: {timings[0]:.2f} s cold (built in SQL), {statistics.median(timings[1:] or timings):.2f} s"
            f" cached (data unchanged), {args.projects} features, {size / 1e6:.1f} MB gzipped"
        )
        draws: list[float] = []
        phases: list[str] = []
        with Browser(width=1400, height=900, offline=True) as browser:
            for _ in range(args.runs):
                page = browser.new_page()
                page.goto(f"{base}/maps/progress?basemap=none&plan=bench-maps")
                page.wait_for("window.XM && XM.state.drawn", timeout=180)
                state = page.evaluate("XM.state")
                assert state["features"] == args.projects, state
                draws.append(state["drawnAt"] / 1000)
                t = {k: v / 1000 for k, v in state["timings"].items()} | {"drawn": state["drawnAt"] / 1000}
                phases.append(
                    f"page boot {t['fetchStart']:.2f}, fetch + parse {t['fetched'] - t['fetchStart']:.2f},"
                    f" lines/areas {t['shapes'] - t['split']:.2f}, cluster index {t['indexed'] - t['choropleth']:.2f},"
                    f" paint {t['drawn'] - t['built']:.2f} s"
                )
                page.send("Page.navigate", url="about:blank")
        median = statistics.median(draws)
        verdict = "meets" if median < TARGET_S else "misses"
        print(f"median run: {phases[draws.index(median)] if median in draws else phases[-1]}")
        print(
            f"first full draw of /maps/progress: {median:.2f} s median of {args.runs}"
            f" (runs: {', '.join(f'{d:.2f}' for d in draws)}); {verdict} the {TARGET_S:g} s target"
        )
