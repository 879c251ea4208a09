"""Schema changes for issue 8: trust: auth, audit, concurrency.

Revision ID: 0007
Revises: 0006

Each issue owns one revision in a fixed chain so that parallel work never forks the history;
a revision with nothing to change yet is a no-op.
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
