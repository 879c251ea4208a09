"""Milestones per task and a structured reason when a task is behind (issue 17, decision 0270).

Revision ID: 0021
Revises: 0020

``task_milestones``: a task's 倒排工期, dated milestones (立项, 开工, 主体完工, 竣工验收 ...) or a planned percent
by month (a row per month named 计划进度), each with the percent the task should have reached by its date.
``starts_work`` marks the milestone by which works must have begun (开工): a task not started by then is
应开工未开工.  ``source`` says how the row came: typed in the browser, imported from a sheet, or the backward
schedule from the deadline that the planner accepted.  Milestones are replaced as a set (the audit log keeps
the old set), so the table is watched by the data version like the reports.

``progress_reports.behind_category``: why a behind task is behind, one of 资金 用地 审批 拆迁 设计 其他, beside
the unit's own words in ``behind_reason`` (migration 0016).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service import db_roles
from service.models.milestones import MILESTONE_SOURCES
from service.models.plans import BEHIND_CATEGORIES
from service.settings import get_settings

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "task_milestones",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("planned_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("starts_work", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source", sa.Text(), server_default=sa.text("'browser'"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("planned_percent >= 0 AND planned_percent <= 100", name="task_milestones_percent"),
        sa.CheckConstraint(f"source IN {MILESTONE_SOURCES!r}", name="task_milestones_source"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 100", name="task_milestones_name"),
        sa.UniqueConstraint("project_id", "name", "due", name="uq_task_milestones_project_name_due"),
    )
    op.create_index("ix_task_milestones_project_due", "task_milestones", ["project_id", "due"])
    op.execute(
        "CREATE TRIGGER data_version_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON task_milestones "
        "FOR EACH STATEMENT EXECUTE FUNCTION data_version_mark()"
    )
    op.add_column("progress_reports", sa.Column("behind_category", sa.Text(), nullable=True))
    op.create_check_constraint(
        "progress_reports_behind_category",
        "progress_reports",
        f"behind_category IS NULL OR behind_category IN {BEHIND_CATEGORIES!r}",
    )
    db_roles.grant_in_migration(op.get_bind(), get_settings().app_role_name(), log)


def downgrade() -> None:
    op.drop_constraint("progress_reports_behind_category", "progress_reports")
    op.drop_column("progress_reports", "behind_category")
    op.drop_table("task_milestones")
