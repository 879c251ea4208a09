"""Schema changes for issue 7: protected-zone screening.

Revision ID: 0006
Revises: 0005

``screening_zone_parts`` holds every protected zone cut into small pieces (ST_Subdivide, at most
256 vertices each) with a GiST index, so a screening tests a site against a handful of small
polygons instead of one 10 000-vertex zone.  Triggers keep it current: any insert, update, delete
or truncate of an area layer re-cuts that zone when the layer is protected in ``layer_catalogue``,
and flipping a layer's ``protected`` flag (re)builds or clears the whole layer.  Nothing has to
remember to refresh it.  See docs/decisions/0051-subdivided-zone-parts.md.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# layer tables that may hold protected zones (every table with areas, plus sites)
WATCHED_LAYERS = ("green_heart", "qingshuitang", "demo_zones", "districts", "sites")
MAX_VERTICES = 256

REFRESH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION screening_refresh_zone(p_layer text, p_id integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    cols text[];
    subzone_expr text := 'NULL';
    n integer;
BEGIN
    DELETE FROM screening_zone_parts WHERE layer = p_layer AND (p_id IS NULL OR zone_id = p_id);
    IF to_regclass(quote_ident(p_layer)) IS NULL
       OR NOT EXISTS (SELECT 1 FROM layer_catalogue WHERE id = p_layer AND protected) THEN
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
               ST_Subdivide(CASE WHEN ST_IsValid(t.geom) THEN t.geom ELSE ST_MakeValid(t.geom) END, {MAX_VERTICES})
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

SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION screening_zone_parts_sync() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM screening_zone_parts WHERE layer = TG_TABLE_NAME;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM screening_zone_parts WHERE layer = TG_TABLE_NAME AND zone_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM screening_refresh_zone(TG_TABLE_NAME, NEW.id);
    END IF;
    RETURN NULL;
END
$fn$;
"""

CATALOGUE_FUNCTION = """
CREATE OR REPLACE FUNCTION screening_catalogue_sync() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM screening_refresh_zone(NEW.id, NULL);
    RETURN NULL;
END
$fn$;
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE screening_zone_parts (
            id bigserial PRIMARY KEY,
            layer text NOT NULL,
            zone_id integer NOT NULL,
            zone_key text NOT NULL,
            zone_name text,
            scheme text,
            subzone text,
            valid_from date,
            valid_to date,
            zone_hash text NOT NULL,
            geom geometry(Geometry, 4326) NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_screening_zone_parts_geom_gist ON screening_zone_parts USING gist (geom)")
    op.execute("CREATE INDEX ix_screening_zone_parts_zone ON screening_zone_parts (layer, zone_id)")
    op.execute("CREATE INDEX ix_screenings_created_at ON screenings (created_at DESC)")
    op.execute("CREATE INDEX ix_screenings_batch ON screenings ((params->>'batch')) WHERE params ? 'batch'")
    op.execute(REFRESH_FUNCTION)
    op.execute(SYNC_FUNCTION)
    op.execute(CATALOGUE_FUNCTION)
    for table in WATCHED_LAYERS:
        op.execute(
            f"CREATE TRIGGER screening_zone_parts_rows AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION screening_zone_parts_sync()"
        )
        op.execute(
            f"CREATE TRIGGER screening_zone_parts_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION screening_zone_parts_sync()"
        )
    op.execute(
        "CREATE TRIGGER screening_catalogue_insert AFTER INSERT ON layer_catalogue "
        "FOR EACH ROW WHEN (NEW.protected) EXECUTE FUNCTION screening_catalogue_sync()"
    )
    op.execute(
        "CREATE TRIGGER screening_catalogue_update AFTER UPDATE OF protected ON layer_catalogue "
        "FOR EACH ROW WHEN (OLD.protected IS DISTINCT FROM NEW.protected) EXECUTE FUNCTION screening_catalogue_sync()"
    )
    # zones already loaded before this revision
    op.execute("SELECT screening_refresh_zone(id, NULL) FROM layer_catalogue WHERE protected")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS screening_catalogue_update ON layer_catalogue")
    op.execute("DROP TRIGGER IF EXISTS screening_catalogue_insert ON layer_catalogue")
    for table in WATCHED_LAYERS:
        op.execute(f"DROP TRIGGER IF EXISTS screening_zone_parts_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS screening_zone_parts_rows ON {table}")
    op.execute("DROP FUNCTION IF EXISTS screening_catalogue_sync()")
    op.execute("DROP FUNCTION IF EXISTS screening_zone_parts_sync()")
    op.execute("DROP FUNCTION IF EXISTS screening_refresh_zone(text, integer)")
    op.execute("DROP INDEX IF EXISTS ix_screenings_batch")
    op.execute("DROP INDEX IF EXISTS ix_screenings_created_at")
    op.execute("DROP TABLE IF EXISTS screening_zone_parts")
