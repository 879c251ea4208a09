"""The ``layer_loads`` table (migration 0002): one row per load of a layer, bundled or not.

The table itself is declared in ``service/models/layer_loads.py``; this module writes and reads it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.models.layer_loads import layer_loads

PUBLIC_COLUMNS = [c for c in layer_loads.c if c.name != "keys"]


def record_load(session: Session, **values: Any) -> int:
    return int(session.execute(insert(layer_loads).values(**values).returning(layer_loads.c.id)).scalar_one())


def last_bundled(session: Session, layer: str) -> dict[str, Any] | None:
    row = session.execute(
        select(layer_loads)
        .where(layer_loads.c.layer == layer, layer_loads.c.kind == "bundled")
        .order_by(layer_loads.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def recent_loads(session: Session, layer: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    query = select(*PUBLIC_COLUMNS).order_by(layer_loads.c.id.desc()).limit(limit)
    if layer:
        query = query.where(layer_loads.c.layer == layer)
    return [dict(r._mapping) for r in session.execute(query)]
