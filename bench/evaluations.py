"""Evaluations (issue 17): a quarterly evaluation of a 10,000-task plan made in under 30 s, its PDF in under 60 s.

    .venv/bin/python -m bench evaluations [--tasks 10000] [--keep]

1. a throwaway PostGIS cluster, migrated, with the bundled layers and the unit register;
2. the ledger bench's synthetic plan (bench/ledger.py ``_fill_plan``: Chinese task texts, lead units linked
   through ``project_units``, geometries for most, monthly reports for 85 %), a backward schedule of
   milestones for 60 % of the tasks, and 2,000 cases of the register's units (a fifth late, a quarter
   违法违规), all written by PostgreSQL itself;
3. in this process, on the application role's connection as the service has it: ``evaluations.make`` (one
   REPEATABLE READ transaction: every task's state, the figures, the cases, the scoreboard, the wall map
   PNG and the GeoPackage, stored), then the first download of ``report.pdf``, ``report.xlsx`` and
   ``package.zip`` (each drawn from the frozen snapshot and stored);
4. baselines of the same run: ``/stats`` by lead unit over the same plan and date (the cheapest read of the
   same derived state) for the evaluation, and the plan's wall-map PDF of the maps area for the report.

Nothing here is a test: the figures depend on the machine, so they are printed, never asserted in CI.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

import psycopg

from bench.ledger import _fill_plan, _prepare
from service.pgcluster import Cluster

PLAN = "bench-eval"
AS_OF = date(2019, 9, 30)
MAKE_TARGET_S, PDF_TARGET_S = 30.0, 60.0


def _say(text: str) -> None:
    print(text, flush=True)


def _fill(url: str, tasks: int) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        _fill_plan(conn, PLAN, tasks)
        # the backward schedule (service.milestones.backward) for 60 % of the tasks, as a planner accepts it
        conn.execute(
            f"""
INSERT INTO task_milestones (project_id, name, due, planned_percent, starts_work, source)
SELECT p.id, m.name, m.due, m.pct, m.starts, 'backward'
  FROM projects p
  CROSS JOIN LATERAL (VALUES ('开工', DATE '2019-03-31', 5, true), ('过半', DATE '2019-07-31', 50, false),
                             ('主体完工', DATE '2019-10-31', 85, false), ('竣工验收', DATE '2019-12-31', 100, false))
       AS m(name, due, pct, starts)
 WHERE p.plan_id = '{PLAN}' AND p.id % 5 < 3"""
        )
        conn.execute(
            """
INSERT INTO cases (number, kind, title, description, geom, position_source, city, found_on, found_by,
                   responsible_unit_id, deadline, severity, status, closed_at)
SELECT '基准〔2019〕' || i || '号', (ARRAY['督察问题', '巡查发现', '违法违规', '巡查发现'])[1 + i % 4],
       '基准案件 ' || i, '', ST_SetSRID(ST_MakePoint(113.1 + (i % 97) * 0.001, 27.8 + (i % 89) * 0.001), 4326),
       'gps', '株洲市', DATE '2019-01-01' + (i % 240), 'bench', u.id, DATE '2019-01-01' + (i % 240) + 30,
       '一般', CASE WHEN i % 3 = 0 THEN '整改中' ELSE '销号' END,
       CASE WHEN i % 3 <> 0
            THEN (DATE '2019-01-01' + (i % 240) + CASE WHEN i % 5 = 0 THEN 45 ELSE 20 END)::timestamptz END
  FROM generate_series(1, 2000) AS i
  JOIN LATERAL (SELECT id FROM units WHERE city = '株洲市' ORDER BY id OFFSET (i % 40) LIMIT 1) u ON TRUE"""
        )
        conn.execute("VACUUM ANALYZE")
        return {
            "tasks": conn.execute(f"SELECT count(*) FROM projects WHERE plan_id = '{PLAN}'").fetchone()[0],  # type: ignore[index]
            "milestones": conn.execute("SELECT count(*) FROM task_milestones").fetchone()[0],  # type: ignore[index]
            "cases": conn.execute("SELECT count(*) FROM cases").fetchone()[0],  # type: ignore[index]
        }


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    return out, seconds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench evaluations")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the cluster (its URL is printed)")
    args = parser.parse_args(argv)

    cluster = Cluster.throwaway_cluster().ensure()
    try:
        owner_url = cluster.url()
        t0 = time.perf_counter()
        _prepare(owner_url)
        counts = _fill(cluster.libpq_url(), args.tasks)
        _say(
            f"bench database in {time.perf_counter() - t0:.0f}s: {counts['tasks']:,} tasks, "
            f"{counts['milestones']:,} milestones, {counts['cases']:,} cases"
        )
        os.environ["DATABASE_URL"] = owner_url
        os.environ["XIANGMAP_APP_DATABASE_URL"] = cluster.app_url() or owner_url
        from service.database import _sessionmaker, get_engine, new_session
        from service.settings import get_settings

        get_settings.cache_clear()
        get_engine.cache_clear()
        _sessionmaker.cache_clear()
        from service.evaluations import usecases as evaluations
        from service.maps import usecases as maps
        from service.maps.printable import PrintRequest
        from service.progress import usecases as progress

        threshold = get_settings().delay_threshold_pct
        filters = progress.ProjectFilter(plan=PLAN)
        with new_session() as session:  # warm: imports, fonts, the catalogue of plans
            progress.stats(session, "lead_unit", AS_OF, threshold, filters, spatial=False)
            session.rollback()
        with new_session() as session:
            _, stats_s = _timed("stats", lambda: progress.stats(session, "lead_unit", AS_OF, threshold, filters))
            session.rollback()
        with new_session() as session:
            made, make_s = _timed(
                "make",
                lambda: evaluations.make(
                    session, kind="quarterly", as_of=AS_OF, plan_id=PLAN, actor="bench", role="admin"
                ),
            )
        files = {}
        for name in ("report.pdf", "report.xlsx", "package.zip"):
            with new_session() as session:
                (content, _), seconds = _timed(name, lambda n=name: evaluations.stored_file(session, made["id"], n))
                files[name] = (len(content), seconds)
        with new_session() as session:
            req = PrintRequest(
                fmt="pdf",
                paper="A3",
                orientation="landscape",
                dpi=150,
                title=None,
                as_of=AS_OF,
                filters=filters,
                threshold_pct=threshold,
            )
            (wall_pdf, _), wall_s = _timed("wall", lambda: maps.wall_map(session, req))
            session.rollback()
        with new_session() as session:
            snapshot = evaluations.evaluation(session, made["id"])
        sizes = {f["name"]: f["size"] for f in snapshot["files"]}
        behind = sum(
            1
            for t in evaluations.snapshot_document(new_session(), made["id"])["tasks"]
            if t["status"] in ("已开工进展缓慢", "应开工未开工")
        )

        pdf_s = files["report.pdf"][1]
        _say(f"\nquarterly evaluation of {made['tasks']:,} tasks as of {AS_OF} ({behind:,} behind or not started):")
        _say(f"  baseline  /stats by lead unit, same plan and date   {stats_s:7.2f} s")
        _say(
            f"  make      snapshot + scoreboard + wall map + GPKG   {make_s:7.2f} s"
            f"  ({make_s / stats_s:.0f}× the baseline)"
            f"  target < {MAKE_TARGET_S:.0f} s: {'PASS' if make_s < MAKE_TARGET_S else 'FAIL'}"
        )
        _say(
            f"            evaluation.json {sizes['evaluation.json'] / 1e6:.1f} MB, wallmap.png "
            f"{sizes['wallmap.png'] / 1e6:.1f} MB, tasks.gpkg {sizes['tasks.gpkg'] / 1e6:.1f} MB"
        )
        _say(f"  baseline  the plan's wall-map PDF (maps area, A3)   {wall_s:7.2f} s  {len(wall_pdf) / 1e6:.1f} MB")
        _say(
            f"  report.pdf first download (drawn, stored)           {pdf_s:7.2f} s"
            f"  ({pdf_s / wall_s:.1f}× the baseline)"
            f"  {files['report.pdf'][0] / 1e6:.1f} MB  target < {PDF_TARGET_S:.0f} s: "
            f"{'PASS' if pdf_s < PDF_TARGET_S else 'FAIL'}"
        )
        for name in ("report.xlsx", "package.zip"):
            _say(
                f"  {name:<11} first download                        {files[name][1]:7.2f} s"
                f"  {files[name][0] / 1e6:.1f} MB"
            )
        with new_session() as session:
            _, again_s = _timed("again", lambda: evaluations.stored_file(session, made["id"], "report.pdf"))
        _say(f"  report.pdf later download (stored bytes)            {again_s:7.3f} s")
        if args.keep:
            _say(f"cluster kept: DATABASE_URL='{owner_url}'")
    finally:
        if not args.keep:
            cluster.destroy()
