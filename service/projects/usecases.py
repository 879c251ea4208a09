"""What users do with the project register: read it, place a project, import a plan, load the bundled one.

Routes, the CLI and setup call these the same way.  Each takes the caller's Session (decision 0100);
a write does its work, writes its audit entry in the same transaction and commits.  A plan loaded or
imported has its tasks' unit strings linked to the register (``service.units.usecases``) in the same
transaction.  The geocoder is
reached only through ``service.geocoding.usecases``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.common import audit
from service.common.concurrency import lock_version, parse_if_match, precondition_failed
from service.database import session_scope
from service.errors import Problem
from service.geocoding import usecases as geocoding
from service.models.plans import LOCATION_STATES
from service.progress import usecases as progress
from service.projects import queries
from service.projects.importer import ImportReport, check_file, known_plan_years, upsert_records
from service.projects.locations import FeatureRef as FeatureRef  # set_location's body, re-exported for callers
from service.projects.locations import LocationIn, set_manual_location
from service.projects.queries import ProjectQuery
from service.projects.register import (
    PlanSnapshot,
    ProjectRecord,
    UpsertCounts,
    plan_exists,
    plan_id_for_title,
    plan_snapshot,
    read_register,
    upsert_plans,
    upsert_projects,
    write_plan,
)
from service.settings import get_settings
from service.units import usecases as units


def list_projects(session: Session, query: ProjectQuery) -> dict[str, Any]:
    """A page of the register as the query filters it (the route validated the query).

    A progress status is derived as /stats and the maps derive it (today, the configured delay rules),
    through ``progress.usecases``; a location status is a column of the project.
    """
    state = None
    if query.status and query.status not in LOCATION_STATES:
        state = progress.state_query(
            date.today(), get_settings().delay_threshold_pct, progress.ProjectFilter(status=query.status)
        )
    return queries.list_projects(session, query, progress_state=state)


def review_queue(session: Session, limit: int, offset: int) -> dict[str, Any]:
    """Projects a person must place, each with the geocoder's reasons: ambiguous names, unknown words, nothing."""
    page = queries.review_page(session, limit, offset)
    cities = queries.plan_cities(session)
    tasks = [(item["task_text"], cities.get(item["plan"]) or None, item["lead_units"]) for item in page["items"]]
    for item, reasons in zip(page["items"], geocoding.explain_for_review(session, tasks), strict=True):
        item["reasons"] = reasons
    return page


def get_project(session: Session, project_id: int) -> dict[str, Any] | None:
    """One project with its geometry and every location; None if there is no such project."""
    return queries.get_project(session, project_id)


def set_location(
    session: Session, actor: str, project_id: int, body: LocationIn, if_match: str | None
) -> dict[str, Any]:
    """A person places a project: checked against If-Match under the row lock, audited, committed.

    The row lock holds a concurrent writer until this transaction ends; it then sees the new version, so
    of two editors holding the same ETag only one writes (decision 0081).  A refused attempt gets its own
    audit entry and a 412 naming the current ETag.  Returns the project as it now is.
    """
    condition = parse_if_match(if_match, project_id)
    version = lock_version(session, project_id)
    if version is None:
        raise Problem(404, f"no project with id {project_id}", parameter="project_id")
    if condition is not None and not condition.allows(version):
        attempt = body.model_dump(mode="json")
        raise precondition_failed(session, actor, "project.location", project_id, condition, attempt)
    before, after = set_manual_location(session, project_id, body)
    audit.record(session, actor, "project.location", "project", project_id, before, {**after, "note": body.note})
    session.commit()
    updated = queries.get_project(session, project_id)
    assert updated is not None
    return updated


def import_plan(
    session: Session,
    path: Path,
    *,
    skip_invalid: bool = False,
    geocode: bool = False,
    actor: str = "cli",
    on_imported: Callable[[ImportReport], None] | None = None,
    city: str | None = None,
) -> ImportReport:
    """Import a planner's spreadsheet (all or nothing unless ``skip_invalid``), then geocode its plans if asked.

    The rows and the audit entry commit as one transaction before any geocoding starts, so a failure while
    geocoding leaves the import in place (``xiangmap geocode --plan`` finishes it); ``on_imported`` is told
    the report at that point.  Each plan's geocoding run commits on its own, with its own audit entry.
    """
    report, records = check_file(path, known_plan_years(session))
    if report.errors and not skip_invalid:
        return report
    report.plans = {r.plan for r in records}
    report.counts = upsert_records(session, records, city)
    report.units = str(units.link_plan_projects(session, sorted(report.plans)))
    audit.record(
        session,
        actor,
        "plans.import",
        "plan",
        ",".join(sorted(report.plans)),
        None,
        {
            "file": path.name,
            "rows": report.rows,
            "skipped": len(report.errors),
            "result": str(report.counts),
            "units": report.units,
        },
    )
    session.commit()
    report.imported = True
    if on_imported is not None:
        on_imported(report)
    if geocode:
        for plan in sorted(report.plans):
            report.geocoded[plan] = str(geocoding.geocode_projects(session, plan=plan, actor=actor))
    return report


def get_plan_snapshot(session: Session, plan_id: str) -> PlanSnapshot | None:
    """The plan and its tasks by key as stored (None: no such plan); what an upload's preview compares with."""
    return plan_snapshot(session, plan_id)


def plan_for_title(session: Session, title: str, owner_unit_id: int | None = None) -> str | None:
    """The id of the plan of this title, if the register has one (with ``owner_unit_id``: one that unit owns)."""
    return plan_id_for_title(session, title, owner_unit_id)


def has_plan(session: Session, plan_id: str) -> bool:
    return plan_exists(session, plan_id)


def store_plan(
    session: Session,
    plan_id: str,
    title: str,
    year: int,
    city: str | None,
    records: list[ProjectRecord],
    owner_unit_id: int | None = None,
) -> tuple[UpsertCounts, units.LinkCounts]:
    """Write a plan (id, title, year, city; a new one owned by ``owner_unit_id``, None: the 两型办's) and its
    tasks, upserted by key, and link their units to the register.

    Runs in the caller's transaction: the caller (an upload's commit) writes the audit entry and commits, so
    the plan, its tasks, their units and the upload's state are one transaction.  Tasks of the plan that the
    records do not name are left as they are.
    """
    write_plan(session, plan_id, title, year, city, owner_unit_id)
    counts = upsert_projects(session, records)
    linked = units.link_plan_projects(session, [plan_id])
    return counts, linked


def load_bundled_plans(engine: Engine) -> str:
    """Setup step: the committed register into the database (a second run changes nothing).

    Setup steps take the engine (service.setup runs them with it) and open their own session.
    """
    plans, records = read_register()
    with session_scope(engine) as session:
        upsert_plans(session, plans)
        counts = upsert_projects(session, records)
        linked = units.link_plan_projects(session, [str(plan["id"]) for plan in plans])
    return f"{len(records)} projects in {len(plans)} plans ({counts}); units: {linked}"
