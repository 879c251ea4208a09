"""Schema changes for issue 5: OGC API - Features, Tiles and downloads.

Revision ID: 0004
Revises: 0003

Each issue owns one revision in a fixed chain so that parallel work never forks the history;
a revision with nothing to change yet is a no-op.
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
