"""Schema changes for issue 3: layer loading and replacement (geodata).

Revision ID: 0002
Revises: 0001

``layer_loads`` records every load of a layer (bundled file, CLI or upload): who, which file (its
SHA-256, so setup can skip an unchanged bundled file), the keys it wrote and the repairs it made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "layer_loads",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("source_crs", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("rederived", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("keys", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("repairs", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.CheckConstraint("kind IN ('bundled', 'cli', 'upload')", name="layer_loads_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_layer_loads_layer_at", "layer_loads", ["layer", "at"])


def downgrade() -> None:
    op.drop_index("ix_layer_loads_layer_at", table_name="layer_loads")
    op.drop_table("layer_loads")
