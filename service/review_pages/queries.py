"""The reads the review pages need beyond the project register's: the queue by plan, newest plan first,
and the candidate features' geometries from the layer tables.

The register's own queue (``GET /projects/review``) is in id order without a plan filter; a person working
through a newly imported plan wants that plan first and only it, so the page reads its page of ids here and
asks the use cases of the register and the geocoder for the rest.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.location_codes import LAYER_CODES
from service.models.layers import LAYER_MODELS

REVIEW_STATES = ("review", "unresolved")  # as service.projects.queries.REVIEW_STATES

_QUEUE = """
    SELECT p.id, p.plan_id AS plan, pl.title AS plan_title, pl.year AS plan_year, pl.city, p.number, p.title,
           p.task_text, p.lead_units, p.location_status, p.precision
    FROM projects p JOIN plans pl ON pl.id = p.plan_id
    WHERE p.location_status IN ('review', 'unresolved') {plan}
    ORDER BY pl.year DESC, pl.created_at DESC, pl.id, p.id
    LIMIT :limit OFFSET :offset
"""


def queue_page(session: Session, plan: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """How many tasks wait (in ``plan`` when given) and one page of them, newest plan first."""
    where = "AND p.plan_id = :plan" if plan else ""
    params: dict[str, Any] = {"plan": plan, "limit": limit, "offset": offset}
    total = session.execute(
        text(f"SELECT count(*) FROM projects p WHERE p.location_status IN ('review', 'unresolved') {where}"), params
    ).scalar_one()
    rows = session.execute(text(_QUEUE.format(plan=where)), params).mappings().all()
    return int(total), [dict(r) for r in rows]


def plans_waiting(session: Session) -> list[dict[str, Any]]:
    """The plans with tasks in review and how many, for the filter (newest plan first)."""
    rows = session.execute(
        text(
            "SELECT pl.id, pl.title, pl.year, count(*) AS waiting FROM projects p JOIN plans pl ON pl.id = p.plan_id"
            " WHERE p.location_status IN ('review', 'unresolved')"
            " GROUP BY pl.id, pl.title, pl.year, pl.created_at ORDER BY pl.year DESC, pl.created_at DESC, pl.id"
        )
    ).mappings()
    return [dict(r) for r in rows]


def stored_matches(session: Session, project_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The automatic locations stored for each project (layer, key, name, precision, span), in stored order."""
    found: dict[int, list[dict[str, Any]]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return found
    rows = session.execute(
        text(
            "SELECT project_id, layer, feature_key AS key, name, precision, method, span_start, span_end, matched_text"
            " FROM project_locations WHERE project_id = ANY(:ids) ORDER BY project_id, id"
        ),
        {"ids": project_ids},
    ).mappings()
    for r in rows:
        found[r["project_id"]].append(dict(r))
    return found


def features_by_key(session: Session, refs: list[tuple[str | None, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each referenced feature that a person may choose: its layer, key, name, precision and GeoJSON geometry.

    A ref with layer None (a name the geocoder found on several features names only their keys) is looked up in
    every layer.  Layers a person cannot place on by ``features`` (cities, official divisions, seats' unions)
    are left out: those the person draws.
    """
    wanted: dict[str, set[str]] = {}
    for layer, key in refs:
        for table in [layer] if layer else list(LAYER_MODELS):
            if table in LAYER_MODELS:
                wanted.setdefault(table, set()).add(key)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for table, keys in wanted.items():
        rows = session.execute(
            text(f"SELECT key, name, ST_AsGeoJSON(geom, 6) AS geometry FROM {table} WHERE key = ANY(:keys)"),
            {"keys": sorted(keys)},
        ).mappings()
        for r in rows:
            found[(table, r["key"])] = {
                "layer": table,
                "key": r["key"],
                "name": r["name"],
                "precision": LAYER_CODES[table][0],
                "geometry": json.loads(r["geometry"]) if r["geometry"] else None,
            }
    return found


def plan_of(session: Session, plan_id: str) -> dict[str, Any]:
    """The plan's title and city (the context its texts are geocoded in); empty values when it is gone."""
    row = session.execute(text("SELECT title, city FROM plans WHERE id = :id"), {"id": plan_id}).mappings().first()
    return dict(row) if row else {"title": plan_id, "city": None}
