"""The unit that owns a plan: ``plans.owner_unit_id`` (issue 15, decision 0183).

Revision ID: 0020
Revises: 0019

A district government or a department uploads its own implementation plan (制定具体工作推进方案); the plan
records that unit, and an editor may update only the plans their unit owns.  NULL is the 两型办's: every
plan bundled, imported by the CLI or uploaded by a coordinator.  A unit removed from the register leaves
its plans to the 两型办 (ON DELETE SET NULL).  ``plans`` is already watched by the data version.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "plans",
        sa.Column("owner_unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_plans_owner_unit_id", "plans", ["owner_unit_id"])


def downgrade() -> None:
    op.drop_index("ix_plans_owner_unit_id", table_name="plans")
    op.drop_column("plans", "owner_unit_id")
