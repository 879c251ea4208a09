"""Progress reports: append a report (never overwrite), read a project's history and its derived state."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, InternalError
from sqlalchemy.orm import Session

from service.common import audit
from service.common.concurrency import IfMatch, bump_version, precondition_failed
from service.common.geometry_guard import check_stored_geojson
from service.errors import Problem
from service.progress import rules
from service.progress.report_input import ReportIn
from service.progress.state import ProjectFilter, state_query
from service.settings import get_settings

# The done part may stray this far from the planned geometry (drawing slack, survey offsets).
DONE_TOLERANCE_M = 200.0
DONE_TYPES = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")


def _project_row(session: Session, project_id: int) -> dict[str, Any]:
    row = (
        session.execute(
            text(
                "SELECT p.id, p.key, p.plan_id, p.title, p.category, p.lead_units, p.deadline, p.deadline_text,"
                " COALESCE(p.year, pl.year) AS year, p.precision, p.version,"
                " CASE WHEN p.geom IS NULL THEN NULL"
                "      WHEN NOT ST_IsEmpty(ST_CollectionExtract(p.geom, 3)) THEN 'areal'"
                "      WHEN NOT ST_IsEmpty(ST_CollectionExtract(p.geom, 2)) THEN 'linear'"
                "      ELSE 'point' END AS kind"
                " FROM projects p JOIN plans pl ON pl.id = p.plan_id WHERE p.id = :id"
            ),
            {"id": project_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, f"project {project_id} does not exist", parameter="id")
    return dict(row)


def _check_done_geometry(session: Session, project: dict[str, Any], geometry: dict[str, Any]) -> None:
    """The done part must be valid, of the project's kind, and lie on the project (within the tolerance)."""
    # the shared guard (decision 0093) first: bounds, finite numbers, ranges, service area
    check_stored_geojson(geometry, "/done_geom", allowed=DONE_TYPES)
    kind = project["kind"]
    if kind is None:
        raise Problem(
            400, "done_geom given but the project has no location yet; geocode it first", pointer="/done_geom"
        )
    if kind == "point":
        raise Problem(
            400, "done_geom is only for linear and areal projects; this project is a point", pointer="/done_geom"
        )
    wanted = "LineString or MultiLineString" if kind == "linear" else "Polygon or MultiPolygon"
    if (kind == "linear") != geometry["type"].endswith("LineString"):
        raise Problem(400, f"done_geom must be a {wanted} for this {kind} project", pointer="/done_geom")
    try:
        with session.begin_nested():
            check = (
                session.execute(
                    text(
                        "WITH g AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:gj), 4326) AS geom)"
                        " SELECT ST_IsValid(g.geom) AS valid, ST_IsValidReason(g.geom) AS reason,"
                        " ST_XMin(g.geom) >= -180 AND ST_XMax(g.geom) <= 180"
                        "   AND ST_YMin(g.geom) >= -90 AND ST_YMax(g.geom) <= 90 AS in_range,"
                        " CASE WHEN ST_IsValid(g.geom) AND ST_YMin(g.geom) >= -90 AND ST_YMax(g.geom) <= 90"
                        "   AND ST_XMin(g.geom) >= -180 AND ST_XMax(g.geom) <= 180"
                        " THEN ST_Covers(ST_Buffer(ST_Transform(p.geom, 4547), :tol), ST_Transform(g.geom, 4547))"
                        " END AS on_project"
                        " FROM g, projects p WHERE p.id = :id"
                    ),
                    {"gj": json.dumps(geometry), "tol": DONE_TOLERANCE_M, "id": project["id"]},
                )
                .mappings()
                .one()
            )
    except (DataError, InternalError) as exc:
        raise Problem(400, f"done_geom is not a readable GeoJSON geometry: {exc.orig}", pointer="/done_geom") from exc
    if not check["in_range"]:
        raise Problem(400, "done_geom coordinates must be longitude, latitude in EPSG:4326", pointer="/done_geom")
    if not check["valid"]:
        raise Problem(400, f"done_geom is not a valid geometry: {check['reason']}", pointer="/done_geom")
    if not check["on_project"]:
        raise Problem(
            400,
            f"done_geom lies more than {DONE_TOLERANCE_M:g} m from the project's planned geometry",
            pointer="/done_geom",
        )


def _latest_report(session: Session, project_id: int) -> dict[str, Any] | None:
    """The newest report's summary (what the audit log keeps as 'before')."""
    row = (
        session.execute(
            text(
                "SELECT id, to_char(period, 'YYYY-MM') AS period, status, percent::float AS percent"
                " FROM progress_reports WHERE project_id = :id ORDER BY period DESC, created_at DESC, id DESC LIMIT 1"
            ),
            {"id": project_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def project_year(session: Session, project_id: int) -> int | None:
    """The year the reporting rules start from: the task's own, else its plan's (None: no such project)."""
    return session.scalar(
        text("SELECT COALESCE(p.year, pl.year) FROM projects p JOIN plans pl ON pl.id = p.plan_id WHERE p.id = :id"),
        {"id": project_id},
    )


def rule_problems(session: Session, project_id: int, report: ReportIn) -> list[rules.RuleProblem]:
    """Every reporting rule ``report`` would break on the project (what add_report refuses, all at once)."""
    year = project_year(session, project_id)
    return rules.problems(session, project_id, year, report.period, report.percent, report.note)


def stored_for_period(session: Session, project_id: int, period: date) -> dict[str, Any] | None:
    """The report that counts for the month (its last correction), or None."""
    row = (
        session.execute(
            text(
                "SELECT id, status, percent::float AS percent, investment_wan::float AS investment_wan, note,"
                " behind_reason, behind_category, done_geom IS NOT NULL AS has_done_geom"
                " FROM progress_reports WHERE project_id = :id AND period = :period"
                " ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            {"id": project_id, "period": period},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def same_as_stored(session: Session, project_id: int, report: ReportIn) -> bool:
    """True when the month's report already says exactly this (a re-upload records nothing)."""
    stored = stored_for_period(session, project_id, report.period)
    if stored is None or report.done_geom is not None:
        return False  # a new drawn part is a change; none leaves the stored one counting (state.py)

    def number(value: float | None) -> float | None:
        return None if value is None else round(float(value), 2)  # the columns keep two decimals

    return (
        stored["status"] == report.status
        and number(stored["percent"]) == number(report.percent)
        and number(stored["investment_wan"]) == number(report.investment_wan)
        and (stored["note"] or None) == report.note
        and (stored["behind_reason"] or None) == report.behind_reason
        and (stored["behind_category"] or None) == report.behind_category
    )


def add_report(
    session: Session,
    project_id: int,
    report: ReportIn,
    actor: str,
    *,
    demo: bool = False,
    if_match: IfMatch | None = None,
) -> dict[str, Any]:
    """Append a report (a second one for the same month is a correction: it wins, the first stays).

    The project's version moves on in the same transaction (its ETag changes), and only if ``if_match``
    allows the current one: a stale ETag raises 412 with nothing written and the refusal audited.
    """
    project = _project_row(session, project_id)
    if report.done_geom is not None:
        _check_done_geometry(session, project, report.done_geom)
    # the body itself first (above), then against the project's history (decision 0200)
    rules.enforce(session, project_id, project["year"], report.period, report.percent, report.note)
    after = report.model_dump(mode="json", exclude={"done_geom"}) | {"has_done_geom": report.done_geom is not None}
    version = bump_version(session, project_id, if_match)
    if version is None:
        if if_match is None:
            raise Problem(404, f"project {project_id} does not exist", parameter="id")
        raise precondition_failed(session, actor, "progress.report", project_id, if_match, after)
    before = {"version": version - 1, "latest_report": _latest_report(session, project_id)}
    new_id = session.execute(
        text(
            "INSERT INTO progress_reports (project_id, period, status, percent, investment_wan, note, behind_reason,"
            " behind_category, done_geom, reported_by, demo) VALUES (:project_id, :period, :status, :percent,"
            " :investment_wan, :note, :behind_reason, :behind_category,"
            " CASE WHEN CAST(:gj AS text) IS NULL THEN NULL"
            "      ELSE ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(CAST(:gj AS text)), 4326)) END,"
            " :actor, :demo) RETURNING id"
        ),
        {
            "project_id": project_id,
            "period": report.period,
            "status": report.status,
            "percent": report.percent,
            "investment_wan": report.investment_wan,
            "note": report.note,
            "behind_reason": report.behind_reason,
            "behind_category": report.behind_category,
            "gj": json.dumps(report.done_geom) if report.done_geom is not None else None,
            "actor": actor,
            "demo": demo,
        },
    ).scalar_one()
    audit.record(
        session,
        actor,
        "progress.report",
        "progress_report",
        new_id,
        before,
        after | {"project_id": project_id, "version": version, "report_id": new_id},
    )
    return {"id": new_id, "project_id": project_id, **after, "version": version}


def list_reports(session: Session, project_id: int) -> list[dict[str, Any]]:
    """Every report of a project, newest first, done geometry as GeoJSON."""
    rows = session.execute(
        text(
            "SELECT id, period, status, percent::float AS percent, investment_wan::float AS investment_wan, note,"
            " behind_reason, behind_category, ST_AsGeoJSON(done_geom, 7)::json AS done_geom,"
            " CASE WHEN done_geom IS NULL THEN NULL"
            "      WHEN ST_Dimension(done_geom) = 1 THEN ST_Length(ST_Transform(done_geom, 4547))"
            "      ELSE ST_Area(ST_Transform(done_geom, 4547)) END AS done_measure_m,"
            " reported_by, demo, created_at"
            " FROM progress_reports WHERE project_id = :id ORDER BY period DESC, created_at DESC, id DESC"
        ),
        {"id": project_id},
    ).mappings()
    return [
        {**row, "period": row["period"].strftime("%Y-%m"), "created_at": row["created_at"].isoformat()} for row in rows
    ]


def state_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The public shape of one derived-state row."""
    period = row.get("period")
    out = {
        "status": row["status"],
        "reported_status": row["reported_status"],
        "delayed": row["delayed"],
        "delay_reason": row["delay_reason"],
        "overdue": row["overdue"],
        "percent": row["percent"],
        "elapsed_pct": None if row["elapsed_pct"] is None else round(float(row["elapsed_pct"]), 1),
        "investment_wan": row["investment_wan"],
        "period": period.strftime("%Y-%m") if period else None,
        "note": row["note"],
        "behind_category": row["behind_category"],
        "behind_reason": row["behind_reason"],
        "has_milestones": row["has_milestones"],
        "planned_pct": row["planned_pct"],
        "due_milestone": row["due_milestone"],
        "next_milestone": row["next_milestone"],
        "next_due": row["next_due"].isoformat() if row["next_due"] else None,
        "demo": row["demo"],
    }
    if "spatial_progress" in row:
        out |= {
            "spatial_progress": row["spatial_progress"],
            "length_planned_m": row["length_planned_m"],
            "length_done_m": row["length_done_m"],
            "area_planned_m2": row["area_planned_m2"],
            "area_done_m2": row["area_done_m2"],
        }
    return out


def project_state(session: Session, project_id: int, as_of: date | None = None) -> dict[str, Any]:
    """The derived state of one project at ``as_of`` (default today), spatial progress included."""
    sql, params = state_query(
        as_of or date.today(),
        get_settings().delay_threshold_pct,
        ProjectFilter(project_id=project_id),
        spatial=True,
    )
    row = session.execute(text(sql), params).mappings().first()
    if row is None:
        raise Problem(404, f"project {project_id} does not exist", parameter="id")
    return state_payload(dict(row))


def project_progress(session: Session, project_id: int, as_of: date | None = None) -> dict[str, Any]:
    """Everything ``GET /projects/{id}/progress`` answers: the project, its derived state, its history."""
    project = _project_row(session, project_id)
    project["deadline"] = project["deadline"].isoformat() if project["deadline"] else None
    as_of = as_of or date.today()
    return {
        "project": project,
        "as_of": as_of.isoformat(),
        "state": project_state(session, project_id, as_of),
        "reports": list_reports(session, project_id),
    }
