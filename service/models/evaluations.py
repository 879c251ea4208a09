"""Periodic evaluations (定期评估, issue 17, migration 0022): made once, never changed.

``evaluations`` holds what an evaluation is (kind, date, scope, who made it and from which data version);
``evaluation_files`` holds its bytes: the snapshot ``evaluation.json``, ``wallmap.png`` and ``tasks.gpkg``
when it is made, the report and the package when first downloaded.  Both are append-only for the service's
role (service.db_roles), so a stored evaluation reads byte for byte the same for as long as it exists.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    LargeBinary,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base

EVALUATION_KINDS = ("monthly", "quarterly", "yearly")
KIND_LABELS = {"monthly": "月度评估", "quarterly": "季度评估", "yearly": "年度评估"}
EVALUATION_FILES = ("evaluation.json", "wallmap.png", "tasks.gpkg", "report.pdf", "report.xlsx", "package.zip")


class Evaluation(Base):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    period: Mapped[str] = mapped_column(Text, nullable=False)  # 2026年第四季度
    plan_id: Mapped[str | None] = mapped_column(Text)  # NULL: every plan; no FK: a plan removed later stays named
    title: Mapped[str] = mapped_column(Text, nullable=False)
    data_version: Mapped[str] = mapped_column(Text, nullable=False)
    rule_version: Mapped[str] = mapped_column(Text, nullable=False)  # the scoreboard rule's name and version
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"kind IN {EVALUATION_KINDS!r}", name="evaluations_kind"),
        CheckConstraint("length(title) BETWEEN 1 AND 300", name="evaluations_title"),
    )


class EvaluationFile(Base):
    __tablename__ = "evaluation_files"

    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="RESTRICT"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    media_type: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (CheckConstraint(f"name IN {EVALUATION_FILES!r}", name="evaluation_files_name"),)
