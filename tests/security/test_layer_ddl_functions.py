"""The only DDL the service role may cause (decision 0310): four SECURITY DEFINER functions that check every name.

The application role still cannot create a table of its own; through the functions it can make a staging
table and a published layer's table and indexes, and drop a staging table: nothing else, whatever it passes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


def _refused(engine: Engine, sql: str, params: dict[str, object] | None = None) -> str:
    with engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            conn.execute(text(sql), params or {})
        conn.rollback()
    return str(caught.value.orig)


def test_the_service_role_creates_no_table_itself(engine: Engine) -> None:
    assert "permission denied" in _refused(engine, "CREATE TABLE xm_intruder (id integer)")


@pytest.mark.parametrize(
    ("table", "geometry", "columns", "says"),
    [
        ("projects", "POINT", "[]", "is taken"),  # an existing table is never replaced or touched
        ("layer_catalogue", "POINT", "[]", "is taken"),
        ("x; drop table projects", "POINT", "[]", "layer id"),
        ("../x", "POINT", "[]", "layer id"),
        ("ok_layer", "POINT); DROP TABLE projects; --", "[]", "geometry type"),
        ("ok_layer", "POINT", '[{"name": "a", "type": "text); DROP TABLE projects; --"}]', "column type"),
        ("ok_layer", "POINT", '[{"name": "a\\"; DROP TABLE projects; --", "type": "text"}]', "column name"),
        ("ok_layer", "POINT", '[{"name": "geom", "type": "text"}]', "column name"),
    ],
)
def test_xm_layer_create_checks_every_name_and_type(
    engine: Engine, table: str, geometry: str, columns: str, says: str
) -> None:
    detail = _refused(
        engine, "SELECT xm_layer_create(:t, :g, CAST(:c AS jsonb))", {"t": table, "g": geometry, "c": columns}
    )
    assert says in detail
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('projects')")).scalar() is not None


@pytest.mark.parametrize("victim", ["projects", "audit_log", "xm_stage_", "xm_stage_0123456789abcdefx"])
def test_the_staging_drop_drops_nothing_but_a_staging_table(engine: Engine, victim: str) -> None:
    assert "not a staging table" in _refused(engine, "SELECT xm_layer_stage_drop(:t)", {"t": victim})


def test_the_index_function_only_touches_published_layers(engine: Engine) -> None:
    assert "no published layer" in _refused(engine, "SELECT xm_layer_index('projects')")


def test_a_staging_table_lives_only_in_its_transaction_when_rolled_back(engine: Engine) -> None:
    with engine.connect() as conn:
        name = conn.execute(text("SELECT xm_layer_stage_create(2)")).scalar_one()
        conn.execute(text(f"INSERT INTO \"{name}\" (ord, c0, c1) VALUES (1, 'a', 'b')"))
        conn.rollback()
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": name}).scalar() is None
    assert "at most 500" in _refused(engine, "SELECT xm_layer_stage_create(501)")


def test_the_archives_and_histories_are_append_only(engine: Engine) -> None:
    for table in ("layer_versions", "layer_rules", "layer_feature_archive", "screening_zone_parts_archive"):
        assert "permission denied" in _refused(engine, f"DELETE FROM {table}")
        assert "permission denied" in _refused(engine, f"UPDATE {table} SET layer = layer")
