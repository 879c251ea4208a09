"""Schema changes for issue 7: protected-zone screening.

Revision ID: 0006
Revises: 0005

Each issue owns one revision in a fixed chain so that parallel work never forks the history;
a revision with nothing to change yet is a no-op.
"""

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
