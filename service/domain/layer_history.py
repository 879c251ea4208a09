"""The ``layer_loads`` table (migration 0002): one row per load of a layer, bundled or not.

Declared with Core on the shared ``Base.metadata`` (so autogenerate sees it like every other
table) but here rather than in ``service/models``: it is this area's bookkeeping, which no other
area reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.models import Base

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

PUBLIC_COLUMNS = [c for c in layer_loads.c if c.name != "keys"]


def record_load(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(layer_loads).values(**values).returning(layer_loads.c.id)).scalar_one())


def last_bundled(conn: Connection, layer: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(layer_loads)
        .where(layer_loads.c.layer == layer, layer_loads.c.kind == "bundled")
        .order_by(layer_loads.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def recent_loads(conn: Connection, layer: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    query = select(*PUBLIC_COLUMNS).order_by(layer_loads.c.id.desc()).limit(limit)
    if layer:
        query = query.where(layer_loads.c.layer == layer)
    return [dict(r._mapping) for r in conn.execute(query)]
