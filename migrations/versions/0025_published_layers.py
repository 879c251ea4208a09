"""Layers published by GIS staff from a file, without a release (issue 20).

Revision ID: 0025
Revises: 0024

- ``layer_catalogue`` learns where a layer came from (``origin``: bundled, or published from a file), whether it
  is served (``status``: active or retired), its version, its fields as published and whether the geocoder
  may use its names.
- ``layer_versions`` (append-only): every publish, replace, append, retire and restore of a published layer:
  who, when, from which file (SHA-256), how many features, the CRS and encoding read, the repairs made.
- ``layer_feature_archive`` and ``screening_zone_parts_archive``: the features, and for a protected layer the
  zone parts a screening tested, of every version a later change superseded, so a screening made against
  version 3 replays against version 3 after version 4 is published.
- ``layer_rules`` (append-only): screening rules of a published protected layer, the same YAML as
  ``geodata/rules/``, stored as the bytes that were accepted, with their SHA-256 and dates in force.
- The application role has no CREATE (decision 0091), so the DDL a publish needs goes through four
  ``SECURITY DEFINER`` functions owned by the owner, each of which checks the names it is given, quotes every
  identifier with ``format('%I')`` and accepts only a fixed list of column types: a staging table for COPY,
  the layer's own table, its indexes, and dropping a staging table.  Nothing else can be created or dropped
  through them (decision 0310).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from service import db_roles
from service.settings import get_settings

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

COLUMN_TYPES = "'text', 'bigint', 'double precision', 'boolean', 'date', 'timestamptz'"
GEOMETRY_TYPES = "'MULTIPOLYGON', 'MULTILINESTRING', 'POINT', 'MULTIPOINT', 'GEOMETRY'"

STAGE_CREATE = """
CREATE FUNCTION xm_layer_stage_create(p_columns integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    t text := 'xm_stage_' || substr(md5(random()::text || clock_timestamp()::text), 1, 16);
    cols text := '';
BEGIN
    IF p_columns < 0 OR p_columns > 500 THEN
        RAISE EXCEPTION 'a layer file may have at most 500 fields, not %', p_columns;
    END IF;
    FOR i IN 0 .. p_columns - 1 LOOP
        cols := cols || format(', %I text', 'c' || i);
    END LOOP;
    EXECUTE format('CREATE UNLOGGED TABLE %I (ord bigint NOT NULL, geom geometry%s)', t, cols);
    EXECUTE format('COMMENT ON TABLE %I IS %L', t, 'xiangmap staging');
    EXECUTE format('GRANT SELECT, INSERT ON %I TO %I', t, session_user);
    RETURN t;
END
$fn$;
"""

STAGE_DROP = """
CREATE FUNCTION xm_layer_stage_drop(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    IF p_table !~ '^xm_stage_[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'not a staging table: %', p_table;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I', p_table);
END
$fn$;
"""

LAYER_CREATE = f"""
CREATE FUNCTION xm_layer_create(p_table text, p_geometry text, p_columns jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    col jsonb;
    cols text := '';
BEGIN
    IF p_table !~ '^[a-z][a-z0-9_]{{2,39}}$' THEN
        RAISE EXCEPTION 'layer id %: use 3 to 40 lower-case letters, digits and _, a letter first', p_table;
    END IF;
    IF EXISTS (SELECT 1 FROM layer_catalogue WHERE id = p_table) OR to_regclass(quote_ident(p_table)) IS NOT NULL THEN
        RAISE EXCEPTION 'layer id % is taken', p_table;
    END IF;
    IF p_geometry NOT IN ({GEOMETRY_TYPES}) THEN
        RAISE EXCEPTION 'geometry type % is not one a layer may have', p_geometry;
    END IF;
    FOR col IN SELECT * FROM jsonb_array_elements(p_columns) LOOP
        IF (col->>'type') NOT IN ({COLUMN_TYPES}) THEN
            RAISE EXCEPTION 'column type % is not one a layer may have', col->>'type';
        END IF;
        IF (col->>'name') IN ('id', 'key', 'name', 'geom', 'updated_at') OR length(col->>'name') > 63
           OR (col->>'name') !~ '^[[:alnum:]_]+$' THEN
            RAISE EXCEPTION 'column name % is not allowed', col->>'name';
        END IF;
        cols := cols || format(', %I %s', col->>'name', col->>'type');
    END LOOP;
    EXECUTE format(
        'CREATE TABLE %I (id serial PRIMARY KEY, key text NOT NULL, name text%s, '
        'geom geometry(%s, 4326) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())',
        p_table, cols, p_geometry
    );
    EXECUTE format('COMMENT ON TABLE %I IS %L', p_table, 'xiangmap published layer');
    EXECUTE format(
        'CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()',
        p_table
    );
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', p_table, session_user);
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO %I', p_table || '_id_seq', session_user);
END
$fn$;
"""

LAYER_INDEX = """
CREATE FUNCTION xm_layer_index(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM layer_catalogue WHERE id = p_table AND origin = 'published') THEN
        RAISE EXCEPTION 'no published layer %', p_table;
    END IF;
    EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I (key)', 'ux_' || p_table || '_key', p_table);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING gist (geom)', 'ix_' || p_table || '_geom', p_table);
    EXECUTE format('ANALYZE %I', p_table);
END
$fn$;
"""

# a retired layer is kept but not screened against: its parts are archived, not rebuilt
REFRESH_FUNCTION_GUARD = """
CREATE OR REPLACE FUNCTION screening_refresh_zone(p_layer text, p_id integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    cols text[];
    subzone_expr text := 'NULL';
    n integer;
BEGIN
    DELETE FROM screening_zone_parts WHERE layer = p_layer AND (p_id IS NULL OR zone_id = p_id);
    IF to_regclass(quote_ident(p_layer)) IS NULL
       OR NOT EXISTS (SELECT 1 FROM layer_catalogue WHERE id = p_layer AND protected AND status = 'active') THEN
        RETURN 0;
    END IF;
    SELECT array_agg(column_name::text) INTO cols
      FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = p_layer;
    IF 'subzone' = ANY(cols) THEN subzone_expr := 't.subzone';
    ELSIF 'kind' = ANY(cols) THEN subzone_expr := 't.kind';
    END IF;
    EXECUTE format(
        $sql$
        INSERT INTO screening_zone_parts
            (layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash, geom)
        SELECT %L, t.id, t.key, t.name, %s, %s, %s, %s, md5(ST_AsEWKB(t.geom)),
               ST_Subdivide(CASE WHEN ST_IsValid(t.geom) THEN t.geom ELSE ST_MakeValid(t.geom) END, 256)
          FROM %I t
         WHERE ($1 IS NULL OR t.id = $1) AND NOT ST_IsEmpty(t.geom)
        $sql$,
        p_layer,
        CASE WHEN 'scheme' = ANY(cols) THEN 't.scheme::text' ELSE 'NULL' END,
        subzone_expr,
        CASE WHEN 'valid_from' = ANY(cols) THEN 't.valid_from' ELSE 'NULL::date' END,
        CASE WHEN 'valid_to' = ANY(cols) THEN 't.valid_to' ELSE 'NULL::date' END,
        p_layer
    ) USING p_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
"""

REFRESH_FUNCTION_0006 = REFRESH_FUNCTION_GUARD.replace(" AND status = 'active'", "")


def upgrade() -> None:
    op.add_column("layer_catalogue", sa.Column("origin", sa.Text(), nullable=False, server_default="bundled"))
    op.add_column("layer_catalogue", sa.Column("status", sa.Text(), nullable=False, server_default="active"))
    op.add_column("layer_catalogue", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("layer_catalogue", sa.Column("fields", JSONB(), nullable=False, server_default="[]"))
    op.add_column("layer_catalogue", sa.Column("gazetteer", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("layer_catalogue", sa.Column("published_by", sa.Text()))
    op.create_check_constraint("layer_catalogue_origin", "layer_catalogue", "origin IN ('bundled', 'published')")
    op.create_check_constraint("layer_catalogue_status", "layer_catalogue", "status IN ('active', 'retired')")
    op.create_table(
        "layer_versions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("file_name", sa.Text()),
        sa.Column("file_sha256", sa.Text()),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("source_crs", sa.Text()),
        sa.Column("encoding", sa.Text()),
        sa.Column("repairs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("details", JSONB(), nullable=False, server_default="{}"),
        sa.CheckConstraint(
            "action IN ('publish', 'replace', 'append', 'retire', 'restore')", name="layer_versions_action"
        ),
    )
    op.create_index("ix_layer_versions_layer", "layer_versions", ["layer", "id"])
    op.create_table(
        "layer_feature_archive",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("properties", JSONB(), nullable=False),
        sa.Column("geom", sa.Text(), nullable=False),  # replaced by a geometry column below
    )
    op.execute("ALTER TABLE layer_feature_archive ALTER COLUMN geom TYPE geometry(Geometry, 4326) USING NULL")
    op.create_index("ix_layer_feature_archive", "layer_feature_archive", ["layer", "version"])
    op.execute("CREATE INDEX ix_layer_feature_archive_geom ON layer_feature_archive USING gist (geom)")
    op.execute(
        "CREATE TABLE screening_zone_parts_archive (LIKE screening_zone_parts EXCLUDING IDENTITY EXCLUDING DEFAULTS)"
    )
    op.execute("ALTER TABLE screening_zone_parts_archive ADD COLUMN layer_version integer NOT NULL")
    op.execute("CREATE INDEX ix_screening_zone_parts_archive_geom ON screening_zone_parts_archive USING gist (geom)")
    op.execute(
        "CREATE INDEX ix_screening_zone_parts_archive_version ON screening_zone_parts_archive (layer, layer_version)"
    )
    op.create_table(
        "layer_rules",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("scheme", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_layer_rules_layer", "layer_rules", ["layer", "id"])
    op.create_table(
        "layer_jobs",
        sa.Column(
            "id",
            sa.dialects.postgresql.UUID(as_uuid=False),
            primary_key=True,
            server_default=sa.text("gen_random_uuid()"),
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False, server_default="queued"),
        sa.Column("phase", sa.Text()),
        sa.Column("done", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("result", JSONB()),
        sa.Column("error", JSONB()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="layer_jobs_state"),
    )
    for table in ("layer_versions", "layer_rules"):
        op.execute(
            f"CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
        )
    for statement in (STAGE_CREATE, STAGE_DROP, LAYER_CREATE, LAYER_INDEX, REFRESH_FUNCTION_GUARD):
        op.execute(statement)
    for function in db_roles.LAYER_DDL_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.execute(REFRESH_FUNCTION_0006)
    for function in db_roles.LAYER_DDL_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    for table in ("layer_jobs", "layer_rules", "screening_zone_parts_archive", "layer_feature_archive"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.drop_table("layer_versions")
    for column in ("published_by", "gazetteer", "fields", "version", "status", "origin"):
        op.drop_column("layer_catalogue", column)
