"""Screen stored projects: one project (``POST /projects/{id}/screening``) or all of them at once.

The batch runs one set-based query for every project (the same per-zone figures as a single
screening), then records one screening per project, so each can be fetched, mapped and replayed
like any other.  Projects without a geometry are listed as skipped, never silently dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import BigInteger, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from service.errors import Problem
from service.models import Project, Screening
from service.screening import project_categories
from service.screening.crs_hints import received_coordinates
from service.screening.records import record
from service.screening.rules import RuleBook
from service.screening.rules_store import rulebook
from service.screening.site_input import ScreeningInput, repair
from service.screening.verdict import CategoryChoice, choose_category, infer_category, screen
from service.screening.zones import batch_zones


def project_site(project: Project) -> ScreeningInput:
    """A stored project's geometry as a screening input (repaired if a stored shape is invalid)."""
    if project.geom is None:
        raise Problem(
            409,
            f"project {project.id} has no geometry yet (location status {project.location_status!r}); "
            "geocode it or draw its location first",
            parameter="id",
        )
    stored = to_shape(project.geom)
    geom, repairs = repair(stored)
    first = next(iter(shapely.get_coordinates(stored)), None)
    received = received_coordinates(
        None if first is None else (float(first[0]), float(first[1])),
        stored.bounds,
        int(shapely.get_num_coordinates(stored)),
        "EPSG:4326",
    )
    # a stored project's geometry is WGS84 by the register's definition (projects.geom, SRID 4326): declared
    return ScreeningInput(
        geom, "EPSG:4326", f"project:{project.id}", repairs, crs_declared=True, coordinates_received=received
    )


SITED_PRECISIONS = (1, 2, 5)  # IATI: exact, near, along a road or river; others place a project on a whole area
SITE_MAX_AREA_M2 = 20e6  # larger than 清水塘 (15 km²): a geometry this big is an area the task covers, not a site


def project_summary(project: Project, area_m2: float) -> dict[str, Any]:
    """Who the screened project is, and whether its geometry is a site or a whole area it was placed in."""
    sited = project.precision in SITED_PRECISIONS and area_m2 <= SITE_MAX_AREA_M2
    note = None
    if not sited:
        note = (
            f"approximate location (IATI precision {project.precision}, {area_m2 / 1e6:.0f} km²): the geometry is "
            "the whole area the task was placed in, so overlaps describe that area, not a site"
        )
    return {
        "id": project.id,
        "key": project.key,
        "title": project.title,
        "precision": project.precision,
        "location_status": project.location_status,
        "sited": sited,
        "location_note": note,
    }


def project_category(rules: RuleBook, project: Project) -> CategoryChoice:
    # the task's own words first: a road task in the "清水塘搬迁改造" section is a road, not a relocation
    return infer_category(rules, project.task_text, project.title, project.category)


def project_choice(rules: RuleBook, project: Project, entry: dict[str, Any] | None) -> CategoryChoice:
    """The category an inspector set (``entry``, service.screening.project_categories), else the words'."""
    return choose_category(rules, entry["category"]) if entry else project_category(rules, project)


@dataclass
class BatchOutcome:
    batch: str
    on: date
    buffer_m: float
    name: str | None = None
    note: str | None = None
    screened: list[Screening] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flagged(self) -> list[Screening]:
        return [s for s in self.screened if s.result.get("flagged")]

    def summary(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "name": self.name,
            "note": self.note,
            "date": self.on.isoformat(),
            "buffer_m": self.buffer_m,
            "screened": len(self.screened),
            "flagged": len(self.flagged),
            "flagged_sited": sum(1 for s in self.flagged if (s.result.get("project") or {}).get("sited")),
            "skipped_without_geometry": len(self.skipped),
            # categories inferred with low confidence (or not at all): an inspector should set them (issue 18)
            "category_needs_review": [
                s.project_id for s in self.screened if (s.result.get("category") or {}).get("needs_review")
            ],
            "links": {
                "screenings": f"/screenings?batch={self.batch}",
                "csv": f"/screening/batches/{self.batch}/report.csv",
                "html": f"/screening/batches/{self.batch}/report.html",
                "pdf": f"/screening/batches/{self.batch}/report.pdf",
            },
        }


MISSING_SHOWN = 20  # unknown ids named in a 404; the rest are counted


def _projects(session: Session, project_ids: Iterable[int] | None) -> list[Project]:
    query = select(Project).order_by(Project.id)
    if project_ids is None:
        return list(session.scalars(query))
    wanted = sorted(set(project_ids))
    # one array parameter, not one parameter per id: the driver sends at most 65,535 (decision 0095)
    ids = bindparam("ids", wanted, type_=ARRAY(BigInteger))
    found = list(session.scalars(query.where(Project.id == any_(ids))))
    missing = sorted(set(wanted) - {p.id for p in found})
    if missing:
        shown = ", ".join(map(str, missing[:MISSING_SHOWN]))
        more = (
            f" and {len(missing) - MISSING_SHOWN} more ({len(missing)} unknown ids)"
            if len(missing) > MISSING_SHOWN
            else ""
        )
        raise Problem(404, f"project_ids: no project with id {shown}{more}", parameter="project_ids")
    return found


def screen_projects(
    session: Session,
    actor: str,
    on: date,
    buffer_m: float = 0.0,
    project_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    name: str | None = None,
    note: str | None = None,
) -> BatchOutcome:
    """Screen the projects (all, or the given ids) and record each; the caller commits."""
    rules = rulebook(session)
    outcome = BatchOutcome(uuid.uuid4().hex[:12], on, buffer_m, name, note)
    projects = _projects(session, project_ids)
    ids = [p.id for p in projects if p.geom is not None]
    zones = (
        batch_zones(session, "projects WHERE geom IS NOT NULL AND id = ANY(:ids)", on, buffer_m, {"ids": ids})
        if ids
        else {}
    )
    set_by_inspector = project_categories.stored_for(session, [p.id for p in projects])
    for n, project in enumerate(projects, start=1):
        if project.geom is None:
            outcome.skipped.append({"project_id": project.id, "title": project.title, "reason": "no geometry"})
        else:
            site = project_site(project)
            found = zones.get(project.id, [])
            entry = set_by_inspector.get(project.id)
            choice = project_choice(rules, project, entry)
            answer = screen(session, site, on, buffer_m, choice, zones=found, with_views=bool(found), rules=rules)
            if entry is not None:
                answer["category"] = project_categories.annotate(answer["category"], entry)
            answer["project"] = project_summary(project, answer["input"]["area_m2"])
            if name is not None or note is not None:
                answer.update(batch_name=name, batch_note=note)
            extra = {"batch": outcome.batch, "name": name, "note": note}
            outcome.screened.append(record(session, actor, site, answer, project_id=project.id, extra_params=extra))
        if progress is not None:
            progress(n, len(projects))
    return outcome


def batch_rows(session: Session, batch: str) -> list[Screening]:
    rows = list(
        session.scalars(
            select(Screening).where(Screening.params["batch"].astext == batch).order_by(Screening.project_id)
        )
    )
    if not rows:
        raise Problem(404, f"no screening batch {batch!r}", parameter="batch")
    return rows
