"""The bundled demonstration history: labelled demo, seeded (same history per key), idempotent, removable."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text

from service.progress.demo import (
    DEMO_FILE,
    DemoProject,
    history,
    load_demo_progress,
    projects_from_register,
    read_csv,
)
from service.settings import get_settings


def test_history_is_deterministic_per_key_and_plausible() -> None:
    project = DemoProject("zhuzhou-2018/annex3/1.1", "碧水蓝天", date(2018, 12, 31))
    first, again = history(project), history(project)
    assert first == again
    assert [r.period for r in first] == [f"2018-{m:02d}" for m in range(1, len(first) + 1)]
    percents = [r.percent for r in first]
    assert percents == sorted(percents)  # progress never goes backwards
    assert all(0 <= p <= 100 for p in percents)
    assert all((r.status == "已完成") == (r.percent == 100) for r in first)
    other = history(DemoProject("zhuzhou-2018/annex3/1.2", "碧水蓝天", None))
    assert other != first


def test_bundled_file_is_what_the_seeded_script_makes_from_the_register() -> None:
    geodata = get_settings().geodata_dir
    bundled = read_csv(geodata / DEMO_FILE)
    regenerated = [r for p in projects_from_register(geodata / "plans" / "projects.csv") for r in history(p)]
    assert len(bundled) > 500
    assert bundled == regenerated  # rerun geodata/progress/generate_demo.py after changing the register
    by_key: dict[str, list] = {}
    for report in bundled:
        by_key.setdefault(report.project_key, []).append(report)
    for rows in by_key.values():  # consecutive months from January, never backwards, valid statuses
        assert [int(r.period[5:]) for r in rows] == list(range(1, len(rows) + 1))
        assert [r.percent for r in rows] == sorted(r.percent for r in rows)
        assert {r.status for r in rows} <= {"未启动", "推进中", "已完成", "滞后", "暂停"}


def test_setup_loaded_labelled_demo_reports_and_is_idempotent(engine: Engine) -> None:
    with engine.connect() as conn:
        demo = conn.execute(text("SELECT count(*) FROM progress_reports WHERE demo")).scalar_one()
        labelled = conn.execute(
            text("SELECT count(*) FROM progress_reports WHERE demo AND reported_by = 'demo-generator'")
        ).scalar_one()
        periods = conn.execute(text("SELECT min(period), max(period) FROM progress_reports WHERE demo")).one()
    assert demo > 0 and labelled == demo
    assert periods == (date(2018, 1, 1), date(2018, 12, 1))
    assert "already have reports" in load_demo_progress(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM progress_reports WHERE demo")).scalar_one() == demo


def test_demo_done_parts_lie_on_their_projects(engine: Engine) -> None:
    with engine.connect() as conn:
        strays = conn.execute(
            text(
                "SELECT count(*) FROM progress_reports r JOIN projects p ON p.id = r.project_id"
                " WHERE r.demo AND r.done_geom IS NOT NULL"
                " AND NOT ST_Covers(ST_Buffer(p.geom::geography, 5)::geometry, r.done_geom)"
            )
        ).scalar_one()
        with_geometry = conn.execute(
            text("SELECT count(*) FROM progress_reports WHERE demo AND done_geom IS NOT NULL")
        ).scalar_one()
    assert with_geometry > 0
    assert strays == 0


def test_demo_done_parts_follow_the_reported_percent(engine: Engine) -> None:
    """No built section before work starts; a done part never exceeds what the percent claims."""
    with engine.connect() as conn:
        not_started = conn.execute(
            text("SELECT count(*) FROM progress_reports WHERE demo AND status = '未启动' AND done_geom IS NOT NULL")
        ).scalar_one()
        too_much = conn.execute(
            text(
                "SELECT count(*) FROM progress_reports r JOIN projects p ON p.id = r.project_id"
                " WHERE r.demo AND r.done_geom IS NOT NULL AND ST_Dimension(r.done_geom) = 1"
                " AND ST_Length(r.done_geom::geography) > ST_Length(ST_CollectionExtract(p.geom, 2)::geography)"
                "     * r.percent / 100 + 1"
            )
        ).scalar_one()
    assert (not_started, too_much) == (0, 0)
