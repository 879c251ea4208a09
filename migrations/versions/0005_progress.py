"""Schema changes for issue 6: progress and maps.

Revision ID: 0005
Revises: 0004

Each issue owns one revision in a fixed chain so that parallel work never forks the history;
a revision with nothing to change yet is a no-op.
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
