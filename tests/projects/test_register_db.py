"""The setup step: the committed register in the database, idempotent, and a re-load that respects people."""

from __future__ import annotations

from sqlalchemy import Engine, text

from service.projects.usecases import load_bundled_plans


def test_setup_loaded_every_project_of_both_plans(engine: Engine) -> None:
    with engine.connect() as conn:
        per_plan = dict(
            conn.execute(
                text(
                    "SELECT plan_id, count(*) FROM projects WHERE plan_id IN ('zhuzhou-2018', 'changzhutan-2010') "
                    "GROUP BY plan_id"
                )
            ).all()
        )
        city = conn.execute(text("SELECT city FROM plans WHERE id = 'zhuzhou-2018'")).scalar_one()
    assert per_plan == {"zhuzhou-2018": 91, "changzhutan-2010": 28}
    assert city == "株洲市"


def test_second_load_changes_nothing(engine: Engine) -> None:
    summary = load_bundled_plans(engine)
    assert "(0 new, 0 updated, 119 unchanged)" in summary and "0 relinked" in summary  # nor the units of a task


def test_a_changed_text_is_regeocoded_but_a_manual_location_is_kept(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE projects SET task_text = 'x' WHERE key = 'zhuzhou-2018/annex3/1.2'"))
        conn.execute(
            text(
                "UPDATE projects SET task_text = 'y', location_status = 'manual' WHERE key = 'zhuzhou-2018/annex3/5.2'"
            )
        )
    try:
        assert "2 updated" in load_bundled_plans(engine)
        with engine.connect() as conn:
            states = dict(
                conn.execute(
                    text(
                        "SELECT key, location_status FROM projects "
                        "WHERE key IN ('zhuzhou-2018/annex3/1.2', 'zhuzhou-2018/annex3/5.2')"
                    )
                ).all()
            )
        assert states == {"zhuzhou-2018/annex3/1.2": "pending", "zhuzhou-2018/annex3/5.2": "manual"}
    finally:
        from service.database import session_scope
        from service.geocoding.usecases import geocode_projects

        with engine.begin() as conn:
            conn.execute(text("UPDATE projects SET location_status = 'auto' WHERE key = 'zhuzhou-2018/annex3/5.2'"))
        with session_scope(engine) as session:
            geocode_projects(session, everything=True)
