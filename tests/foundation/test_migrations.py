"""Migrations build the whole schema from empty, with every GiST index, and downgrade cleanly."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from service import migrate
from service.models import LAYER_MODELS, Base

EXPECTED_TABLES = set(Base.metadata.tables)


def _geometry_columns(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT f_table_name, f_geometry_column FROM geometry_columns")).all()
    return {(r[0], r[1]) for r in rows}


def _gist_indexed(engine: Engine) -> set[tuple[str, str]]:
    sql = text(
        """
        SELECT t.relname, a.attname
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_am am ON am.oid = i.relam
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
        WHERE am.amname = 'gist'
        """
    )
    with engine.connect() as conn:
        return {(r[0], r[1]) for r in conn.execute(sql)}


def test_upgrade_from_empty_creates_every_table_and_index_then_downgrades(empty_database: Engine) -> None:
    assert migrate.current(empty_database) is None
    migrate.upgrade(empty_database)
    assert migrate.current(empty_database) == migrate.head()

    tables = set(inspect(empty_database).get_table_names())
    assert tables >= EXPECTED_TABLES, EXPECTED_TABLES - tables

    geometry = _geometry_columns(empty_database)
    for layer in LAYER_MODELS:
        assert (layer, "geom") in geometry
    assert geometry <= _gist_indexed(empty_database), geometry - _gist_indexed(empty_database)

    with empty_database.connect() as conn:
        srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns")).scalars().all()
        for table in LAYER_MODELS:
            cols = {c["name"] for c in inspect(conn).get_columns(table)}
            assert {"source", "accuracy_m", "verified", "updated_at", "key", "name"} <= cols, table
    assert srids == [4326]

    migrate.downgrade(empty_database, "base")
    left = set(inspect(empty_database).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    assert left == set()
    assert migrate.current(empty_database) is None


def test_models_match_migrations(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the schema is created by migrations alone."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from service.migrate import include_object

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = [d for d in compare_metadata(ctx, Base.metadata) if not _is_index_noise(d)]
    assert diff == []


def _is_index_noise(entry: object) -> bool:
    """Indexes may be declared in migrations only (GiST and composite ones are): the models need not repeat them.

    An index a model declares that the database lacks (``add_index``) is still a failure.
    """
    return isinstance(entry, tuple) and entry[0] == "remove_index"
