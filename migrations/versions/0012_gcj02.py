"""GCJ-02 output in the database: ``xm_gcj02(geometry)`` moves every vertex as AMap and Tencent do.

Revision ID: 0012
Revises: 0011

GCJ-02 is WGS84 longitude/latitude shifted by a published, non-linear obfuscation (the public-domain
forward formula of eviltransform / coordtransform, the same as ``service/common/chinese_crs.py``),
applied inside mainland China's box only.  No PROJ pipeline can express it, and ``ST_Affine`` is linear,
so the geometry goes through its GeoJSON: the coordinate arrays are walked recursively and every position
is moved, whatever the geometry type (collections included), then read back with ``ST_GeomFromGeoJSON``.
Output only (``crs=GCJ-02`` on items, item and downloads): docs/decisions/0141-gcj02-in-the-database.md.

The functions are IMMUTABLE, STRICT and PARALLEL SAFE; EXECUTE stays granted to PUBLIC (PostgreSQL's
default, which migration 0010 keeps), so the application role may call them and cannot change them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = """
CREATE FUNCTION xm_gcj02_position(pos jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    lon CONSTANT float8 := (pos->>0)::float8;
    lat CONSTANT float8 := (pos->>1)::float8;
    a CONSTANT float8 := 6378245.0;               -- Krasovsky 1940, as GCJ-02 uses
    ee CONSTANT float8 := 0.00669342162296594323;
    x float8;
    y float8;
    dlat float8;
    dlon float8;
    radlat float8;
    magic float8;
    sqrtmagic float8;
BEGIN
    IF lon < 72.004 OR lon > 137.8347 OR lat < 0.8293 OR lat > 55.8271 THEN
        RETURN pos;  -- outside China no offset is applied, as the map vendors do
    END IF;
    x := lon - 105.0;
    y := lat - 35.0;
    dlat := -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
        + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
        + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0 * pi())) * 2.0 / 3.0
        + (160.0 * sin(y / 12.0 * pi()) + 320.0 * sin(y * pi() / 30.0)) * 2.0 / 3.0;
    dlon := 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
        + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
        + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0 * pi())) * 2.0 / 3.0
        + (150.0 * sin(x / 12.0 * pi()) + 300.0 * sin(x / 30.0 * pi())) * 2.0 / 3.0;
    radlat := lat / 180.0 * pi();
    magic := 1 - ee * sin(radlat) * sin(radlat);
    sqrtmagic := sqrt(magic);
    dlat := (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * pi());
    dlon := (dlon * 180.0) / (a / sqrtmagic * cos(radlat) * pi());
    -- any third ordinate (height) is kept as it is
    RETURN jsonb_set(jsonb_set(pos, '{0}', to_jsonb(lon + dlon)), '{1}', to_jsonb(lat + dlat));
END
$fn$
"""

COORDINATES = """
CREATE FUNCTION xm_gcj02_coordinates(coordinates jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
    IF jsonb_typeof(coordinates->0) = 'number' THEN
        RETURN xm_gcj02_position(coordinates);
    END IF;
    RETURN COALESCE(
        (SELECT jsonb_agg(xm_gcj02_coordinates(e) ORDER BY i)
         FROM jsonb_array_elements(coordinates) WITH ORDINALITY AS p(e, i)),
        '[]'::jsonb);
END
$fn$
"""

GEOJSON = """
CREATE FUNCTION xm_gcj02_geojson(g jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
    IF g ? 'geometries' THEN
        RETURN jsonb_set(g, '{geometries}', COALESCE(
            (SELECT jsonb_agg(xm_gcj02_geojson(e) ORDER BY i)
             FROM jsonb_array_elements(g->'geometries') WITH ORDINALITY AS p(e, i)),
            '[]'::jsonb));
    END IF;
    RETURN jsonb_set(g, '{coordinates}', xm_gcj02_coordinates(g->'coordinates'));
END
$fn$
"""

GEOMETRY = """
CREATE FUNCTION xm_gcj02(geom geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
    SELECT ST_SetSRID(ST_GeomFromGeoJSON(xm_gcj02_geojson(ST_AsGeoJSON(geom, 15)::jsonb)), ST_SRID(geom))
$fn$
"""

COMMENT = (
    "COMMENT ON FUNCTION xm_gcj02(geometry) IS "
    "'WGS84 lon/lat to GCJ-02 (AMap, Tencent), every vertex; output only (migration 0011)'"
)


def upgrade() -> None:
    for statement in (POSITION, COORDINATES, GEOJSON, GEOMETRY, COMMENT):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS xm_gcj02(geometry)")
    op.execute("DROP FUNCTION IF EXISTS xm_gcj02_geojson(jsonb)")
    op.execute("DROP FUNCTION IF EXISTS xm_gcj02_coordinates(jsonb)")
    op.execute("DROP FUNCTION IF EXISTS xm_gcj02_position(jsonb)")
