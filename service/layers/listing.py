"""What the layer listing shows: catalogue entries with feature counts, extent and last load."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.layers.history import recent_loads
from service.models import LAYER_MODELS, LayerEntry


def _stats(session: Session, layer: str, *, published: bool = False) -> dict[str, Any]:
    verified = "0" if published else "count(*) FILTER (WHERE verified)"  # a published table has no such column
    row = session.execute(
        text(
            f"""SELECT count(*) AS features, {verified} AS verified,
                       ST_XMin(ST_Extent(geom)) AS x0, ST_YMin(ST_Extent(geom)) AS y0,
                       ST_XMax(ST_Extent(geom)) AS x1, ST_YMax(ST_Extent(geom)) AS y1
                FROM "{layer}" """
        )
    ).one()
    if not row.features:
        return {"features": 0, "verified": 0, "bbox": None}
    return {"features": row.features, "verified": row.verified, "bbox": [row.x0, row.y0, row.x1, row.y1]}


FIELDS = (
    "id",
    "title_zh",
    "title_en",
    "geometry_type",
    "description",
    "source",
    "licence",
    "protected",
    "origin",
    "status",
    "version",
    "fields",
    "gazetteer",
    "published_by",
    "updated_at",
)


def catalogue(session: Session) -> list[dict[str, Any]]:
    """Every layer: the bundled ones with a model, and those GIS staff published (issue 20), retired too."""
    entries = []
    table = LayerEntry.__table__
    for entry in session.execute(select(table).order_by(table.c.id)).mappings():
        published = entry["origin"] == "published"
        if entry["id"] not in LAYER_MODELS and not published:
            continue
        loads = recent_loads(session, entry["id"], limit=1)
        entries.append(
            {
                **{k: entry[k] for k in FIELDS},
                **_stats(session, entry["id"], published=published),
                "last_load": loads[0] if loads else None,
            }
        )
    return entries


def is_protected(session: Session, layer: str) -> bool:
    """Whether the catalogue marks ``layer`` protected: a zone screening relies on (``layers/*.yaml``)."""
    found = session.execute(select(LayerEntry.__table__.c.protected).where(LayerEntry.__table__.c.id == layer))
    return bool(found.scalar_one_or_none())
