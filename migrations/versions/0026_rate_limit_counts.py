"""Rate-limit counts shared by every worker and every machine (issue 21, decision 0320).

Revision ID: 0026
Revises: 0025

``rate_limit_counts``: one row per client key and fixed window, holding the requests counted in it
(``service/rate_counter.py`` weighs the previous window against the current one).  The table is UNLOGGED:
the counts need not survive a crash (PostgreSQL empties an unlogged table after one, and every client starts
afresh, as after a restart of the old in-process counters), and they write no WAL, so the one upsert per
limited request costs no WAL flush and is not replicated: a hot standby has no copy (it cannot even read the
table), which is right, since only the primary counts.  Not watched by the data version: a counted request
must not empty every worker's response cache.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.settings import get_settings

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "rate_limit_counts",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
        prefixes=["UNLOGGED"],
    )
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_table("rate_limit_counts")
