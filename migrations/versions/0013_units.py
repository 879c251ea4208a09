"""The register of units (单位) and the units of each task; accounts belong to a unit; the coordinator role.

Revision ID: 0013
Revises: 0012

``units`` (canonical name, short name, kind, city, parent, validity and successor), ``unit_aliases``
(other names with dates: 市环保局 until 2019, then 市生态环境局 is the same unit), ``unit_groups`` and
their members (各县市区人民政府 per city), ``project_units`` (each unit string of a task: its unit, or
flagged with the closest names), ``users.unit_id``, and ``users.role`` accepting ``coordinator`` (the
两型办's planners, who report on every task).  The application role gets the same grants as every table
(migration 0010, ``service/db_roles.py``), and their changes bump the data version (migration 0009).
See docs/units.md and docs/decisions/0150-units-register.md.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service import db_roles
from service.settings import get_settings

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = "('viewer', 'editor', 'inspector', 'admin', 'gis')"
ROLES_AFTER = "('viewer', 'editor', 'inspector', 'admin', 'gis', 'coordinator')"
UNIT_KINDS = (
    "('government', 'district_government', 'department', 'office', 'management_committee', 'court', "
    "'procuratorate', 'agency', 'company', 'party')"
)

log = logging.getLogger("alembic.runtime.migration")

# served data: their changes bump the data version, as migration 0009's watch() does for its tables
WATCHED = ("units", "unit_aliases", "unit_groups", "unit_group_members", "project_units")


def _created() -> list[sa.Column]:
    return [
        sa.Column("source", sa.Text(), server_default=sa.text("'bundled'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def _set_user_roles(roles: str) -> None:
    op.drop_constraint("users_role", "users", type_="check")
    op.create_check_constraint("users_role", "users", f"role IN {roles}")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("short_name", sa.Text()),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("city", sa.Text()),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="SET NULL")),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
        sa.Column("successor_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="SET NULL")),
        sa.Column("note", sa.Text()),
        *_created(),
        sa.CheckConstraint(f"kind IN {UNIT_KINDS}", name="units_kind"),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from < valid_to", name="units_dates"),
    )
    op.create_index("ix_units_city", "units", ["city"])
    op.create_index("ix_units_parent_id", "units", ["parent_id"])
    op.create_table(
        "unit_aliases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("relative", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
        *_created(),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_from < valid_to", name="unit_aliases_dates"
        ),
    )
    op.create_index("ix_unit_aliases_unit_id", "unit_aliases", ["unit_id"])
    op.create_index("ix_unit_aliases_alias", "unit_aliases", ["alias"])
    # one alias row per unit, name and start: the bundled register's load is idempotent on it
    op.execute(
        "CREATE UNIQUE INDEX unit_aliases_once ON unit_aliases "
        "(unit_id, alias, COALESCE(valid_from, '-infinity'::date))"
    )
    op.create_table(
        "unit_groups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city", sa.Text()),
        sa.Column("note", sa.Text()),
        *_created(),
    )
    op.execute("CREATE UNIQUE INDEX unit_groups_once ON unit_groups (name, COALESCE(city, ''))")
    op.create_table(
        "unit_group_members",
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("unit_groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_to", sa.Date()),
    )
    op.create_table(
        "project_units",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE")),
        sa.Column("via_group", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("suggestions", postgresql.JSONB()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('lead', 'responsible')", name="project_units_role"),
        sa.CheckConstraint("(unit_id IS NULL) = (reason IS NOT NULL)", name="project_units_linked_or_flagged"),
    )
    op.create_index("ix_project_units_project_id", "project_units", ["project_id"])
    op.create_index("ix_project_units_unit_id", "project_units", ["unit_id"])
    op.execute("CREATE UNIQUE INDEX project_units_once ON project_units (project_id, role, raw, COALESCE(unit_id, 0))")
    op.add_column("users", sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="SET NULL")))
    _set_user_roles(ROLES_AFTER)
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
        )
    _grant_app_role()


def _grant_app_role() -> None:
    """As migration 0010: the default privileges cover new tables already; granting again makes it explicit."""
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'editor' WHERE role = 'coordinator'")
    _set_user_roles(ROLES_BEFORE)
    op.drop_column("users", "unit_id")
    op.drop_table("project_units")
    op.drop_table("unit_group_members")
    op.drop_table("unit_groups")
    op.drop_table("unit_aliases")
    op.drop_table("units")
