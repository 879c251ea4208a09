"""Geocode projects in bulk and store their locations; a manual location is never touched.

The pieces of a run: which projects (:func:`select_projects`), resolving and storing each
(:func:`geocode_rows`, :func:`store_resolution`), and the gazetteer signature the last run saw
(:func:`last_run_signature`).  The run itself, with its audit entry and its commit, is
``service.geocoding.usecases.geocode_projects``; setup's ``geocode_pending`` is there too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from service.geocoding.matcher import Matcher
from service.geocoding.resolver import Resolution, geometry_sql, resolve


@dataclass
class GeocodeSummary:
    projects: int = 0
    by_precision: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"projects": self.projects, "by_precision": dict(self.by_precision), "by_status": dict(self.by_status)}

    def __str__(self) -> str:
        if not self.projects:
            return "nothing to geocode"
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_precision.items()))
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        return f"{self.projects} projects geocoded (precision {codes}; {states})"


_SELECT = """
    SELECT p.id, p.title, p.section, p.task_text, p.lead_units, pl.city
    FROM projects p JOIN plans pl ON pl.id = p.plan_id
    WHERE p.location_status <> 'manual' {scope}
    ORDER BY p.id
"""


def select_projects(session: Session, *, plan: str | None, everything: bool) -> Sequence[RowMapping]:
    """The projects a run geocodes: pending / unresolved ones, or all automatic ones with ``everything``."""
    scope = "" if everything else "AND p.location_status IN ('pending', 'unresolved')"
    params: dict[str, object] = {}
    if plan:
        scope += " AND p.plan_id = :plan"
        params["plan"] = plan
    return session.execute(text(_SELECT.format(scope=scope)), params).mappings().all()


def geocode_rows(
    session: Session,
    matcher: Matcher,
    rows: Sequence[RowMapping],
    on_progress: Callable[[int, int], None] | None = None,
) -> GeocodeSummary:
    """Resolve each selected project and store its locations (the caller commits)."""
    summary = GeocodeSummary()
    for n, row in enumerate(rows, start=1):
        result = resolve(
            matcher,
            row["task_text"],
            city=row["city"] or None,
            lead_units=row["lead_units"],
            title=row["title"],
            section=row["section"],
        )
        store_resolution(session, row["id"], result)
        summary.projects += 1
        summary.by_precision[str(result.precision) if result.precision else "none"] += 1
        summary.by_status[result.status] += 1
        if on_progress:
            on_progress(n, len(rows))
    return summary


def store_resolution(session: Session, project_id: int, result: Resolution) -> None:
    """Replace the project's automatic locations; a project a person placed is skipped in SQL too."""
    expr, params = geometry_sql([x.place for x in result.locations], result.within)
    updated = session.execute(
        text(
            f"""UPDATE projects SET geom = {expr}, precision = :precision, location_status = :status,
                    updated_at = now()
                WHERE id = :pid AND location_status <> 'manual' RETURNING id"""
        ),
        {**params, "precision": result.precision, "status": result.status, "pid": project_id},
    ).scalar_one_or_none()
    if updated is None:
        return
    session.execute(
        text("DELETE FROM project_locations WHERE project_id = :pid AND method <> 'manual'"), {"pid": project_id}
    )
    for x in result.locations:
        session.execute(
            text(
                """INSERT INTO project_locations (project_id, layer, feature_key, name, precision, exactness,
                        location_class, method, confidence, span_start, span_end, matched_text)
                   VALUES (:pid, :layer, :key, :name, :precision, :exactness, :class, :method, :confidence,
                        :s, :e, :matched)"""
            ),
            {
                "pid": project_id,
                "layer": x.place.layer,
                "key": x.place.key,
                "name": x.place.name,
                "precision": x.precision,
                "exactness": x.place.exactness,
                "class": x.place.location_class,
                "method": x.method,
                "confidence": round(x.confidence, 3),
                "s": x.span[0] if x.span else None,
                "e": x.span[1] if x.span else None,
                "matched": x.matched_text,
            },
        )


def last_run_signature(session: Session) -> str | None:
    """The gazetteer signature the last audited run saw (None before the first run)."""
    return session.execute(
        text("SELECT after->>'signature' FROM audit_log WHERE action = 'geocode.run' ORDER BY id DESC LIMIT 1")
    ).scalar_one_or_none()
