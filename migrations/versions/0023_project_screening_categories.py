"""The screening category an inspector set for a project (issue 18).

Revision ID: 0023
Revises: 0022

``project_screening_categories``: one row per project whose category an inspector set or corrected, with the
reason and who set it.  Screening uses it instead of inferring a category from the task's words; nothing but
the inspector's own use case writes it (a plan re-import, a re-geocode or a rules change never does), and
every change is audited.  Watched by the data version: the project answers show it.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "project_screening_categories",
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.execute(
        "CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON project_screening_categories "
        "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
    )
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_table("project_screening_categories")
