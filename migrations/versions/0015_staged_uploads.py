"""Uploaded spreadsheets waiting for their preview to be committed: ``staged_uploads`` (issue 15, decision 0176).

Revision ID: 0015
Revises: 0014

The browser sends a file, sees the preview, then commits it: between the two requests the file lives
here (its bytes, checksum and the answers asked with it), owned by the account that sent it.  Rows older
than a day are removed when the next file is staged.  No ``data_version_mark`` trigger: nothing a cached
response shows comes from this table.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from service import db_roles
from service.settings import get_settings

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "staged_uploads",
        sa.Column("id", UUID(as_uuid=False), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("params", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_staged_uploads_created_at", "staged_uploads", ["created_at"])
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_index("ix_staged_uploads_created_at", table_name="staged_uploads")
    op.drop_table("staged_uploads")
