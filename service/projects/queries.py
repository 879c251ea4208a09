"""Read the project register: filtered pages, one project with its locations, the review queue.

GeoJSON is built by PostGIS; filters are bound parameters; the district filter is spatial (a project
placed no finer than a province belongs to no district).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.chinese_text import to_simplified
from service.common.derived_status import SCHEDULE_CLASSES
from service.models.plans import LOCATION_STATES

PRECISION_CODES = (1, 2, 3, 4, 5, 6, 8)
REVIEW_STATES = ("review", "unresolved")


@dataclass
class ProjectQuery:
    plan: str | None = None
    category: str | None = None
    lead_unit: str | None = None
    district: str | None = None
    status: str | None = None
    precision: int | None = None
    q: str | None = None
    limit: int = 100
    offset: int = 0

    def validate(self) -> None:
        """Raise ValueError(parameter, reason) for a value no project can have."""
        if self.status and self.status not in LOCATION_STATES + SCHEDULE_CLASSES:
            states = ", ".join(LOCATION_STATES + SCHEDULE_CLASSES)
            raise ValueError("status", f"status must be a location status or a schedule class: {states}")
        if self.precision is not None and self.precision not in PRECISION_CODES:
            raise ValueError("precision", f"precision must be one of {', '.join(map(str, PRECISION_CODES))}")


_COLUMNS = """
    p.id, p.key, p.plan_id AS plan, p.section, p.number, p.title, p.task_text, p.category, p.lead_units,
    p.responsible_units, p.targets, p.deadline, p.deadline_text, p.year, p.precision, p.location_status,
    p.version, p.updated_at
"""


def _where(
    query: ProjectQuery, extra: list[str] | None = None, progress_state: tuple[str, dict[str, Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = list(extra or [])
    params: dict[str, Any] = {}
    if query.plan:
        clauses.append("p.plan_id = :plan")
        params["plan"] = query.plan
    if query.category:
        clauses.append("p.category = :category")
        params["category"] = query.category
    if query.lead_unit:
        clauses.append(":lead_unit = ANY(p.lead_units)")
        params["lead_unit"] = query.lead_unit
    if query.status in LOCATION_STATES:
        clauses.append("p.location_status = :status")
        params["status"] = query.status
    elif query.status:  # a progress status: the use case passes the derived state (progress.usecases)
        if progress_state is None:
            raise TypeError(f"status {query.status!r} is a progress status: pass its progress_state")
        sql, state_params = progress_state
        clauses.append(f"p.id IN (SELECT project_id FROM ({sql}) AS states)")
        params.update(state_params)
    if query.precision is not None:
        clauses.append("p.precision = :precision")
        params["precision"] = query.precision
    if query.district:
        clauses.append(
            "p.geom IS NOT NULL AND COALESCE(p.precision, 0) NOT IN (4, 6) AND EXISTS (SELECT 1 FROM districts d "
            "WHERE (d.name = :district OR d.adcode = :district OR :district = ANY(d.aliases)) "
            "AND ST_Intersects(d.geom, p.geom))"
        )
        params["district"] = query.district
    if query.q:
        clauses.append("(p.title ILIKE :q OR p.task_text ILIKE :q OR p.key ILIKE :q)")
        escaped = to_simplified(query.q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q"] = f"%{escaped}%"
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _row(row: Any) -> dict[str, Any]:
    item = dict(row._mapping)
    for name in ("deadline", "updated_at"):
        if item.get(name) is not None:
            item[name] = item[name].isoformat()
    return item


def list_projects(
    session: Session,
    query: ProjectQuery,
    extra: list[str] | None = None,
    *,
    progress_state: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A page of projects and how many match in all (the register is small enough to count).

    A progress status in ``query`` filters on ``progress_state``, the derived state's SQL and parameters
    (``progress.usecases.state_query`` filtered by that status): this module does not reach into progress.
    """
    where, params = _where(query, extra, progress_state)
    total = session.execute(text(f"SELECT count(*) FROM projects p{where}"), params).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS}, CASE WHEN p.geom IS NULL THEN NULL ELSE "
            f"ARRAY[ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom)] END AS bbox "
            f"FROM projects p{where} ORDER BY p.id LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": query.limit, "offset": query.offset},
    ).all()
    items = []
    for row in rows:
        item = _row(row)
        if item["bbox"] is not None:
            item["bbox"] = [round(v, 6) for v in item["bbox"]]
        items.append(item)
    return {"numberMatched": total, "numberReturned": len(items), "items": items}


def get_project(session: Session, project_id: int) -> dict[str, Any] | None:
    row = session.execute(
        text(f"SELECT {_COLUMNS}, ST_AsGeoJSON(p.geom, 6) AS geometry FROM projects p WHERE p.id = :id"),
        {"id": project_id},
    ).first()
    if row is None:
        return None
    project = _row(row)
    project["geometry"] = json.loads(project["geometry"]) if project["geometry"] else None
    locations = session.execute(
        text(
            """SELECT id, layer, feature_key, name, precision, exactness, location_class, method, confidence,
                      span_start, span_end, matched_text, ST_AsGeoJSON(geom, 6) AS geometry, created_at
               FROM project_locations WHERE project_id = :id ORDER BY id"""
        ),
        {"id": project_id},
    ).all()
    project["locations"] = []
    for loc in locations:
        item = dict(loc._mapping)
        start, end = item.pop("span_start"), item.pop("span_end")
        item["span"] = [start, end] if start is not None else None
        item["geometry"] = json.loads(item["geometry"]) if item["geometry"] else None
        item["created_at"] = item["created_at"].isoformat()
        project["locations"].append(item)
    return project


def review_page(session: Session, limit: int, offset: int) -> dict[str, Any]:
    """A page of the projects a person must place (the use case adds the geocoder's reasons)."""
    query = ProjectQuery(limit=limit, offset=offset)
    return list_projects(session, query, extra=[f"p.location_status IN {REVIEW_STATES!r}"])


def plan_cities(session: Session) -> dict[str, str | None]:
    """Each plan's city, the context its task texts are geocoded in."""
    return {plan: city for plan, city in session.execute(text("SELECT id, city FROM plans"))}
