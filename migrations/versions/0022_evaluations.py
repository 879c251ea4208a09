"""Periodic evaluations, frozen (issue 17, decision 0280).

Revision ID: 0022
Revises: 0021

``evaluations``: one row per evaluation made (kind, as-of date, period, scope, the data version it read and
the scoreboard rule's version).  ``evaluation_files``: its bytes, one row per file (the snapshot
``evaluation.json``, ``wallmap.png``, ``tasks.gpkg``; the report and the package once first downloaded).

Both are append-only for the service's role (db_roles.APPEND_ONLY_TABLES: no UPDATE, DELETE or TRUNCATE), so
what an evaluation said is what it says next year.  They are not watched by the data version: an evaluation
is made *from* the data, and making one changes no served layer.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.models.evaluations import EVALUATION_FILES, EVALUATION_KINDS
from service.settings import get_settings

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("data_version", sa.Text(), nullable=False),
        sa.Column("rule_version", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"kind IN {EVALUATION_KINDS!r}", name="evaluations_kind"),
        sa.CheckConstraint("length(title) BETWEEN 1 AND 300", name="evaluations_title"),
    )
    op.create_table(
        "evaluation_files",
        sa.Column(
            "evaluation_id",
            sa.BigInteger(),
            sa.ForeignKey("evaluations.id", ondelete="RESTRICT"),
            primary_key=True,
        ),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"name IN {EVALUATION_FILES!r}", name="evaluation_files_name"),
    )
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_table("evaluation_files")
    op.drop_table("evaluations")
