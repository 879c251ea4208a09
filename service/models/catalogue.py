"""The layer catalogue: one row per layer, filled from the declarative files in ``layers/``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base


class LayerEntry(Base):
    __tablename__ = "layer_catalogue"

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # also the table name and the OGC collection id
    title_zh: Mapped[str] = mapped_column(Text, nullable=False)
    title_en: Mapped[str] = mapped_column(Text, nullable=False)
    geometry_type: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    properties: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    # issue 20: bundled (layers/*.yaml, a model and a migration) or published from a file by GIS staff
    origin: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'bundled'"))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'active'"))  # or retired
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    fields: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    gazetteer: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    published_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("origin IN ('bundled', 'published')", name="layer_catalogue_origin"),
        CheckConstraint("status IN ('active', 'retired')", name="layer_catalogue_status"),
    )
