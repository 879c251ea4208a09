"""``layer_loads``: one row per load of a layer (bundled, CLI or upload), written by the layer loader."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.models.base import Base

layer_loads = Table(
    "layer_loads",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("layer", Text, nullable=False),
    Column("kind", Text, nullable=False),  # bundled / cli / upload
    Column("actor", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", Text, nullable=False),
    Column("source_crs", Text),
    Column("rows", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    Column("rederived", Integer, nullable=False, server_default="0"),
    Column("keys", ARRAY(Text), nullable=False, server_default="{}"),
    Column("repairs", JSONB, nullable=False, server_default="[]"),
    CheckConstraint("kind IN ('bundled', 'cli', 'upload')", name="layer_loads_kind"),
    Index("ix_layer_loads_layer_at", "layer", "at"),
)
