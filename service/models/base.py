"""Declarative base and the columns every layer feature carries (provenance, review, time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Boolean, DateTime, Float, Integer, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326


class Base(DeclarativeBase):
    pass


class FeatureColumns:
    """Columns shared by every layer table.

    ``key`` is the stable identifier used to upsert (an authoritative layer keeps its own ids);
    ``id`` is the integer primary key QGIS wants.  ``source`` / ``accuracy_m`` / ``verified`` say
    where a geometry came from, how far off it may be, and whether a person checked it.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    source: Mapped[str] = mapped_column(Text, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    method: Mapped[str | None] = mapped_column(Text)  # how the geometry was drawn or obtained
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
