"""The service's own role reads and writes the units tables (and may not truncate them)."""

from __future__ import annotations

from sqlalchemy import Engine, text

TABLES = ("units", "unit_aliases", "unit_groups", "unit_group_members", "project_units")
RIGHTS = ("SELECT", "INSERT", "UPDATE", "TRUNCATE")


def test_app_role_may_read_and_write_the_units_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        for table in TABLES:
            rights = [
                conn.execute(text("SELECT has_table_privilege(current_user, :t, :r)"), {"t": table, "r": r}).scalar()
                for r in RIGHTS
            ]
            assert rights == [True, True, True, False], table
        unit = conn.execute(
            text("INSERT INTO units (name, kind, city) VALUES ('权限测试局', 'department', '株洲市') RETURNING id")
        ).scalar_one()
        conn.execute(text("INSERT INTO unit_aliases (unit_id, alias) VALUES (:u, '权限局')"), {"u": unit})
        conn.execute(text("UPDATE units SET short_name = '权限局' WHERE id = :u"), {"u": unit})
        assert conn.execute(text("SELECT count(*) FROM unit_aliases WHERE unit_id = :u"), {"u": unit}).scalar() == 1
        conn.rollback()
