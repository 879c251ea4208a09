"""Evidence files (佐证材料) of monthly reports: ``evidence_files`` (issue 15, decision 0190).

Revision ID: 0018
Revises: 0017

Each row is one photo (JPEG, PNG, WebP) or PDF sent with a report from the task's report form: its bytes
(bytea), the type read from the content, size, SHA-256, who sent it and when.  The row belongs to the
report (and its project): deleting either deletes the files.  No ``data_version_mark`` trigger: no cached
response shows these files.  The application role gets its grants as in migration 0014.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "report_id", sa.BigInteger(), sa.ForeignKey("progress_reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"media_type IN {MEDIA_TYPES!r}", name="evidence_files_media_type"),
        sa.CheckConstraint("size > 0 AND size = octet_length(content)", name="evidence_files_size"),
    )
    op.create_index("ix_evidence_files_project_id", "evidence_files", ["project_id"])
    op.create_index("ix_evidence_files_report_id", "evidence_files", ["report_id"])
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_index("ix_evidence_files_report_id", table_name="evidence_files")
    op.drop_index("ix_evidence_files_project_id", table_name="evidence_files")
    op.drop_table("evidence_files")
