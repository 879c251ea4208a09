"""Indexes for the ledger's filter choices (issue 15): ``projects (year)`` and ``project_districts (adcode, name)``.

Revision ID: 0017
Revises: 0016

The ledger page lists the years of its filter form on every answer.  Without an index that is a pass over
every task (40-80 ms at 110,000 tasks, service/ledger/query.py OPTIONS_SQL["years"]); with it, a loose index
scan (one probe a distinct year) answers in well under a millisecond.  It also serves the ``year=`` filter.
The 区县 choices are the distinct (adcode, name) pairs of ``project_districts``: the same, on a pair index.
See docs/decisions/0210-ledger-page-query.md.  (The lead renumbers: 0017 and 0018 are other branches'.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_projects_year ON projects (year)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_project_districts_pair ON project_districts (adcode, name)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_project_districts_pair")
    op.execute("DROP INDEX IF EXISTS ix_projects_year")
