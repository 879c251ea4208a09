"""Re-derive project geometries after layer features change.

A project's geometry is the union of its locations' geometries: a location that points at a layer
feature (``layer``, ``feature_key``) takes the feature's current geometry; a manual (drawn)
location keeps its own.  When a load changes or removes features, the projects pointing at them
are recomputed here, in the load's transaction, and their version (ETag) moves on.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.models import LAYER_MODELS


# every layer's features under one shape: (layer, key, geom).  Table names come from the models, or for a
# layer GIS staff published (issue 20) from the catalogue, whose ids xm_layer_create checked; never from input.
# The geocoder's virtual cities (layer "cities", key "city:<name>") are the union of their districts.
def _features_sql(published: tuple[str, ...]) -> str:
    return " UNION ALL ".join(
        [
            *(f"SELECT '{t}'::text AS layer, key, geom FROM {t}" for t in LAYER_MODELS),
            *(f"SELECT '{t}'::text AS layer, key, geom::geometry AS geom FROM \"{t}\"" for t in published),
            "SELECT 'cities', 'city:' || city, ST_Union(geom) FROM districts GROUP BY city",
        ]
    )


REDERIVE_TEMPLATE = """
    WITH features AS ({features}),
    affected AS (
        SELECT DISTINCT project_id FROM project_locations
        WHERE (layer = :layer AND feature_key = ANY(:keys)) OR (:layer = 'districts' AND layer = 'cities')
    ),
    parts AS (
        SELECT a.project_id,
               CASE WHEN pl.method = 'manual' AND pl.geom IS NOT NULL THEN pl.geom ELSE f.geom END AS geom,
               pl.layer = :layer AND pl.feature_key = ANY(:keys) AS changed
        FROM affected a
        JOIN project_locations pl ON pl.project_id = a.project_id
        LEFT JOIN features f ON f.layer = pl.layer AND f.key = pl.feature_key
    ),
    derived AS (
        SELECT project_id, ST_Multi(ST_Union(geom)) AS geom
        FROM parts
        GROUP BY project_id
        HAVING bool_and(geom IS NOT NULL OR changed)
    )
    UPDATE projects p
    SET geom = d.geom, version = p.version + 1, updated_at = now()
    FROM derived d
    WHERE p.id = d.project_id AND p.geom IS DISTINCT FROM d.geom
    """


@lru_cache(maxsize=32)
def _rederive_sql(published: tuple[str, ...]) -> Any:
    return text(REDERIVE_TEMPLATE.format(features=_features_sql(published)))


def _published_layers(session: Session) -> tuple[str, ...]:
    ids = session.execute(text("SELECT id FROM layer_catalogue WHERE origin = 'published' ORDER BY id")).scalars()
    return tuple(ids)


def rederive_project_geometries(session: Session, layer: str, feature_keys: Iterable[str]) -> int:
    """Recompute ``projects.geom`` of projects located on ``layer`` features ``feature_keys``; returns how many changed.

    A removed feature drops out of the union (a project whose every feature has gone gets NULL, not a
    stale geometry).  A project with another location this cannot resolve (a virtual place of the
    geocoder other than a city) is left for the geocoder to redo rather than given a partial geometry.
    """
    keys = sorted(set(feature_keys))
    if not keys:
        return 0
    published = _published_layers(session)
    if layer not in LAYER_MODELS and layer not in published:
        raise ValueError(f"unknown layer {layer!r}")
    result = session.execute(_rederive_sql(published), {"layer": layer, "keys": keys})
    return int(result.rowcount or 0)
