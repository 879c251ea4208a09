"""Cases (案件 / 问题) from supervision and patrols, their timeline and their files (issue 16, decision 0220)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import SRID, Base

CASE_KINDS = ("督察问题", "巡查发现", "违法违规")
CASE_STATUSES = ("登记", "交办", "整改中", "申请销号", "销号", "撤销")
CASE_SEVERITIES = ("一般", "较重", "严重")
POSITION_SOURCES = ("drawn", "file", "gps", "project")
POSITION_CRS = ("WGS84", "GCJ-02", "BD-09")
CASE_FILE_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")


class Case(Base):
    """One problem or finding: where, when, by whom, who must rectify it by when, and where it stands."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(Text, nullable=False, unique=True)  # 巡查〔2026〕0012号
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    geom: Mapped[object] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=False)
    position_source: Mapped[str] = mapped_column(Text, nullable=False)
    position_crs: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'WGS84'"))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(Text)  # 长沙市 / 株洲市 / 湘潭市, from the place (the figures' key)
    found_on: Mapped[date] = mapped_column(Date, nullable=False)
    found_by: Mapped[str] = mapped_column(Text, nullable=False)  # account name
    found_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    responsible_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    rectification: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    deadline: Mapped[date | None] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'一般'"))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'登记'"), index=True)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id", ondelete="SET NULL"))
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # zones, sub-zones, overlap, verdict
    verdict: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))  # the ETag
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_cases_geom", "geom", postgresql_using="gist"),
        Index("ix_cases_found_on", "found_on"),
        CheckConstraint(f"kind IN {CASE_KINDS!r}", name="cases_kind"),
        CheckConstraint(f"status IN {CASE_STATUSES!r}", name="cases_status"),
        CheckConstraint(f"severity IN {CASE_SEVERITIES!r}", name="cases_severity"),
        CheckConstraint(f"position_source IN {POSITION_SOURCES!r}", name="cases_position_source"),
        CheckConstraint(f"position_crs IN {POSITION_CRS!r}", name="cases_position_crs"),
        CheckConstraint("deadline IS NULL OR deadline >= found_on", name="cases_deadline_after_found"),
        CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="cases_accuracy"),
    )


class CaseEvent(Base):
    """One step of a case's timeline: who did what, when, from which status to which, and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(Text, nullable=False)  # service.cases.workflow.ACTIONS
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CaseFile(Base):
    """A photo or document of a case or of one of its steps, checked by content, with its EXIF place and time."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), nullable=False, index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(Text, nullable=False)
    media_type: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    exif_taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    uploaded_by: Mapped[str] = mapped_column(Text, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"media_type IN {CASE_FILE_TYPES!r}", name="case_files_media_type"),
        CheckConstraint("size > 0 AND size = octet_length(content)", name="case_files_size"),
    )


__all__ = ["Case", "CaseEvent", "CaseFile"]
