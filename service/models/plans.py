"""Plans, the projects they contain, where each project is, and how far it has come."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import SRID, Base

PROGRESS_STATUSES = ("未启动", "推进中", "已完成", "滞后", "暂停")  # what a unit reports
# why a behind task is behind, as the report gives it (migration 0021), beside its own words
BEHIND_CATEGORIES = ("资金", "用地", "审批", "拆迁", "设计", "其他")
LOCATION_METHODS = ("gazetteer", "admin", "seat", "manual", "admin_division")
LOCATION_STATES = ("pending", "auto", "review", "unresolved", "manual")


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # slug, e.g. zhuzhou-2018
    title: Mapped[str] = mapped_column(Text, nullable=False)
    document: Mapped[str | None] = mapped_column(Text)  # source file / document number
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    issuer: Mapped[str | None] = mapped_column(Text)
    published: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(Text)  # default context for geocoding (株洲市 ...)
    # the district or department that uploaded it as its own plan (an editor may update only these); NULL:
    # the 两型办's (bundled, imported or uploaded by a coordinator)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True, nullable=False)  # plan/section/number: stable on re-import
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True)
    section: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    task_text: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str | None] = mapped_column(Text, index=True)
    lead_units: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    responsible_units: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    targets: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    deadline: Mapped[date | None] = mapped_column(Date)
    deadline_text: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[object | None] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False))
    precision: Mapped[int | None] = mapped_column(SmallInteger)  # IATI / AidData precision code
    location_status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))  # ETag source
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("precision IS NULL OR precision IN (1,2,3,4,5,6,8)", name="projects_precision_code"),
        CheckConstraint(f"location_status IN {LOCATION_STATES!r}", name="projects_location_status"),
    )


class ProjectLocation(Base):
    """One place a project is geocoded to: a layer feature, or a drawn geometry (manual)."""

    __tablename__ = "project_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    layer: Mapped[str | None] = mapped_column(Text)
    feature_key: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    precision: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    exactness: Mapped[int | None] = mapped_column(SmallInteger)  # IATI: 1 exact, 2 approximate
    location_class: Mapped[int | None] = mapped_column(SmallInteger)  # IATI: 1 admin, 2 populated, 3 structure, 4 topo
    method: Mapped[str] = mapped_column(Text, nullable=False)
    confidence: Mapped[float | None] = mapped_column(Float)
    span_start: Mapped[int | None] = mapped_column(Integer)
    span_end: Mapped[int | None] = mapped_column(Integer)
    matched_text: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[object | None] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False))  # manual only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"method IN {LOCATION_METHODS!r}", name="project_locations_method"),
        CheckConstraint("precision IN (1,2,3,4,5,6,8)", name="project_locations_precision_code"),
    )


class ProgressReport(Base):
    """A monthly report; history is append-only and the latest report is the project's state."""

    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    period: Mapped[date] = mapped_column(Date, nullable=False)  # first day of the reported month
    status: Mapped[str] = mapped_column(Text, nullable=False)
    percent: Mapped[float] = mapped_column(Numeric(5, 2), nullable=False)
    investment_wan: Mapped[float | None] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)
    behind_reason: Mapped[str | None] = mapped_column(Text)  # the unit's own words when behind (滞后原因)
    behind_category: Mapped[str | None] = mapped_column(Text)  # one of BEHIND_CATEGORIES
    done_geom: Mapped[object | None] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False))
    reported_by: Mapped[str | None] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN {PROGRESS_STATUSES!r}", name="progress_reports_status"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="progress_reports_percent"),
        CheckConstraint(
            f"behind_category IS NULL OR behind_category IN {BEHIND_CATEGORIES!r}",
            name="progress_reports_behind_category",
        ),
        CheckConstraint("period = date_trunc('month', period)::date", name="progress_reports_period_month"),
    )
