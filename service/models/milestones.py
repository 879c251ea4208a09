"""A task's milestones (倒排工期, issue 17): what it should have reached by when (migration 0021)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base

MILESTONE_SOURCES = ("browser", "sheet", "backward")
# the usual dated milestones of a works task, in order, with the percent each usually stands for
STANDARD_MILESTONES = (("立项", 0.0), ("开工", 10.0), ("主体完工", 80.0), ("竣工验收", 100.0))
# a planned percent by month is a row a month under this name
MONTHLY_PLAN_NAME = "计划进度"


class TaskMilestone(Base):
    """One milestone: by ``due`` the task should be at ``planned_percent``; ``starts_work``: works begun by then."""

    __tablename__ = "task_milestones"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    due: Mapped[date] = mapped_column(Date, nullable=False)
    planned_percent: Mapped[float] = mapped_column(Numeric(5, 2), nullable=False)
    starts_work: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'browser'"))
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("planned_percent >= 0 AND planned_percent <= 100", name="task_milestones_percent"),
        CheckConstraint(f"source IN {MILESTONE_SOURCES!r}", name="task_milestones_source"),
        CheckConstraint("length(name) BETWEEN 1 AND 100", name="task_milestones_name"),
        UniqueConstraint("project_id", "name", "due", name="uq_task_milestones_project_name_due"),
        Index("ix_task_milestones_project_due", "project_id", "due"),
    )
