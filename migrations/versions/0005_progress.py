"""Schema changes for issue 6: progress and maps.

Revision ID: 0005
Revises: 0004

``project_districts`` holds the district each project lies in (the one holding ``ST_PointOnSurface`` of
its geometry; none for projects located only to the province or country, precision 4 / 6).  Finding it
at read time costs 9 s for 100 000 projects against detailed district outlines, so triggers keep it
current instead: a row trigger when a project's geometry or precision changes, a statement trigger that
reassigns every project when the districts layer is reloaded.  See docs/decisions/0041-stats-grouping.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ASSIGN_ONE = """
CREATE FUNCTION xm_assign_project_district() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM project_districts WHERE project_id = NEW.id;
    IF NEW.geom IS NOT NULL AND COALESCE(NEW.precision, 0) NOT IN (4, 6) THEN
        INSERT INTO project_districts (project_id, adcode, name, city)
        SELECT NEW.id, d.adcode, d.name, d.city FROM districts d
        WHERE ST_Intersects(d.geom, ST_PointOnSurface(NEW.geom))
        ORDER BY d.adcode LIMIT 1;
    END IF;
    RETURN NULL;
END $$;
"""

BACKFILL = """
INSERT INTO project_districts (project_id, adcode, name, city)
SELECT p.id, d.adcode, d.name, d.city
FROM projects p
CROSS JOIN LATERAL (
    SELECT dd.adcode, dd.name, dd.city FROM districts dd
    WHERE ST_Intersects(dd.geom, ST_PointOnSurface(p.geom)) ORDER BY dd.adcode LIMIT 1
) d
WHERE p.geom IS NOT NULL AND COALESCE(p.precision, 0) NOT IN (4, 6)
"""

ASSIGN_ALL = f"""
CREATE FUNCTION xm_assign_all_project_districts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM project_districts;
    {BACKFILL};
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "project_districts",
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("adcode", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), nullable=True),
    )
    op.create_index("ix_project_districts_adcode", "project_districts", ["adcode"])
    op.execute(ASSIGN_ONE)
    op.execute(ASSIGN_ALL)
    op.execute(
        "CREATE TRIGGER projects_assign_district AFTER INSERT OR UPDATE OF geom, precision ON projects"
        " FOR EACH ROW EXECUTE FUNCTION xm_assign_project_district()"
    )
    for event in ("INSERT OR UPDATE OR DELETE", "TRUNCATE"):
        name = "districts_reassign_projects" + ("_truncate" if event == "TRUNCATE" else "")
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON districts"
            " FOR EACH STATEMENT EXECUTE FUNCTION xm_assign_all_project_districts()"
        )
    # existing projects (an upgrade of a populated database)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS districts_reassign_projects_truncate ON districts")
    op.execute("DROP TRIGGER IF EXISTS districts_reassign_projects ON districts")
    op.execute("DROP TRIGGER IF EXISTS projects_assign_district ON projects")
    op.drop_table("project_districts")
    op.execute("DROP FUNCTION IF EXISTS xm_assign_all_project_districts()")
    op.execute("DROP FUNCTION IF EXISTS xm_assign_project_district()")
