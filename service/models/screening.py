"""Recorded protected-zone screenings: each keeps what it saw, so it replays unchanged."""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import SRID, Base


class Screening(Base):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    on_date: Mapped[date] = mapped_column(Date, nullable=False)
    input_hash: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    input_geom: Mapped[object] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=False)
    buffer_m: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSONB, nullable=False)
    scheme_versions: Mapped[dict] = mapped_column(JSONB, nullable=False)
    result: Mapped[dict] = mapped_column(JSONB, nullable=False)


class ScreeningZonePart(Base):
    """Protected zones cut into parts of at most 256 vertices (ST_Subdivide), GiST-indexed.

    Written only by the triggers of migration 0006, which keep it current when a protected layer changes.
    """

    __tablename__ = "screening_zone_parts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    zone_id: Mapped[int] = mapped_column(Integer, nullable=False)
    zone_key: Mapped[str] = mapped_column(Text, nullable=False)
    zone_name: Mapped[str | None] = mapped_column(Text)
    scheme: Mapped[str | None] = mapped_column(Text)
    subzone: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    zone_hash: Mapped[str] = mapped_column(Text, nullable=False)
    geom: Mapped[object] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=False)


class ProjectScreeningCategory(Base):
    """The screening category an inspector set for a project (issue 18): it wins over inference, and no
    re-import, re-geocoding or rules change touches it; every change is in the audit log."""

    __tablename__ = "project_screening_categories"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(Text, nullable=False)  # a category id of geodata/rules/categories.yaml
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    set_by: Mapped[str] = mapped_column(Text, nullable=False)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
