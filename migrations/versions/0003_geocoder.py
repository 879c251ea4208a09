"""Schema changes for issue 4: plan register and geocoder.

Revision ID: 0003
Revises: 0002

Each issue owns one revision in a fixed chain so that parallel work never forks the history;
a revision with nothing to change yet is a no-op.
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
