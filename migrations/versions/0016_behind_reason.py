"""The unit's own reason when a task is behind: ``progress_reports.behind_reason`` (issue 15).

Revision ID: 0016
Revises: 0015

``delay_reason`` (service.common.derived_status) is the rule's: reported, deadline_passed,
behind_schedule.  ``behind_reason`` is what the reporting unit wrote in the form or the monthly sheet
(滞后原因: 征地拆迁未完成, 资金未到位 ...), kept beside it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("progress_reports", sa.Column("behind_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("progress_reports", "behind_reason")
