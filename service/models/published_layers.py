"""Tables of published layers (issue 20, migration 0025): versions, archives, rules and jobs.

The layers' own tables are not declared here: each is made at run time by ``xm_layer_create`` from the
fields GIS staff confirmed, and read through the database catalogue like every layer (service.ogc.registry).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import SRID, Base


class LayerVersion(Base):
    """One change of a published layer: publish, replace, append, retire or restore (append-only)."""

    __tablename__ = "layer_versions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    file_name: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(Text)
    features: Mapped[int] = mapped_column(Integer, nullable=False)  # in the layer after the change
    added: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))  # from the file
    source_crs: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(Text)
    repairs: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        CheckConstraint(
            "action IN ('publish', 'replace', 'append', 'retire', 'restore')", name="layer_versions_action"
        ),
        Index("ix_layer_versions_layer", "layer", "id"),
    )


class LayerRules(Base):
    """Screening rules of a published protected layer: the accepted YAML bytes (append-only)."""

    __tablename__ = "layer_rules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    scheme: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (Index("ix_layer_rules_layer", "layer", "id"),)


class LayerJob(Base):
    """A publish, replace or append running in the background: its progress, for the browser's percentage."""

    __tablename__ = "layer_jobs"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, server_default=text("gen_random_uuid()"))
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'queued'"))
    phase: Mapped[str | None] = mapped_column(Text)
    done: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    total: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="layer_jobs_state"),)


layer_feature_archive = Table(
    "layer_feature_archive",
    Base.metadata,
    Column("layer", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("properties", JSONB, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=False),
    Index("ix_layer_feature_archive", "layer", "version"),
)

screening_zone_parts_archive = Table(
    "screening_zone_parts_archive",
    Base.metadata,
    Column("id", BigInteger, nullable=False),
    Column("layer", Text, nullable=False),
    Column("zone_id", Integer, nullable=False),
    Column("zone_key", Text, nullable=False),
    Column("zone_name", Text),
    Column("scheme", Text),
    Column("subzone", Text),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("zone_hash", Text, nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=SRID, spatial_index=False), nullable=False),
    Column("layer_version", Integer, nullable=False),
)
