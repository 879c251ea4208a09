"""Each project's state at a date, derived in one SQL query so maps, stats and the API agree.

The state is the latest report whose period is not after the date (history is append-only; a second
report for the same month is a correction and wins by ``created_at``).  On top of the reported status
the delay rules apply (see docs/decisions/0040-delay-rules.md), written once in
service.common.derived_status (decision 0170) so the OGC collection and the ledger derive the same:

* 已完成 (done) and 暂停 (suspended) are kept as reported;
* otherwise the project is 滞后 (delayed) when the reporter said so, when its deadline has passed
  (no explicit deadline: 31 December of its year, the end of an annual work plan), or when its percent
  lags the share of its time already elapsed by more than ``delay_threshold_pct`` points;
* a project with no report yet is 未启动 (not started) at 0 %, and the same rules apply.

Spatial progress compares the done geometry of the latest report that has one with the planned
geometry, in metres (EPSG:4547, CGCS2000 / 3-degree Gauss-Kruger CM 114E).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.derived_status import (
    SCHEDULE_CLASSES,
    delay_reason_sql,
    elapsed_pct_sql,
    milestones_sql,
    overdue_sql,
    schedule_sql,
    status_sql,
)
from service.common.geometry_guard import in_service_area_sql
from service.common.task_filters import task_conditions
from service.settings import get_settings


@dataclass(frozen=True)
class ProjectFilter:
    """Which projects to include; every field is optional and they combine with AND."""

    plan: str | None = None
    category: str | None = None
    lead_unit: str | None = None
    district: str | None = None  # name or adcode
    status: str | None = None  # effective status, after the delay rules
    year: int | None = None
    project_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _where(filters: ProjectFilter, params: dict[str, Any]) -> str:
    """SQL conditions on ``p`` (projects) for the filters that do not need the derived state."""
    conditions = ["TRUE"]
    if filters.project_id is not None:
        conditions.append("p.id = :f_project_id")
        params["f_project_id"] = filters.project_id
    if filters.lead_unit:
        conditions.append(":f_lead_unit = ANY(p.lead_units)")
        params["f_lead_unit"] = filters.lead_unit
    conditions += task_conditions(
        params, plan=filters.plan, category=filters.category, year=filters.year, district=filters.district
    )
    return " AND ".join(conditions)


SPATIAL_COLUMNS = """,
    sp.length_planned_m, sp.length_done_m, sp.area_planned_m2, sp.area_done_m2,
    CASE WHEN sp.area_planned_m2 > 0 THEN LEAST(1.0, COALESCE(sp.area_done_m2, 0) / sp.area_planned_m2)
         WHEN sp.length_planned_m > 0 THEN LEAST(1.0, COALESCE(sp.length_done_m, 0) / sp.length_planned_m)
    END AS spatial_progress"""

SPATIAL_JOIN = """
LEFT JOIN LATERAL (
    SELECT g.done_geom FROM progress_reports g
    WHERE g.project_id = p.id AND g.period <= :as_of_month AND g.done_geom IS NOT NULL
    ORDER BY g.period DESC, g.created_at DESC, g.id DESC LIMIT 1
) dg ON TRUE
LEFT JOIN LATERAL (SELECT {measurable} AS ok) mg ON TRUE
LEFT JOIN LATERAL (
    SELECT
        CASE WHEN mg.ok THEN NULLIF(ST_Length(ST_Transform(ST_CollectionExtract(p.geom, 2), 4547)), 0) END
            AS length_planned_m,
        CASE WHEN mg.ok THEN ST_Length(ST_Transform(ST_UnaryUnion(ST_CollectionExtract(dg.done_geom, 2)), 4547)) END
            AS length_done_m,
        CASE WHEN mg.ok THEN NULLIF(ST_Area(ST_Transform(ST_CollectionExtract(p.geom, 3), 4547)), 0) END
            AS area_planned_m2,
        CASE WHEN mg.ok THEN
            ST_Area(ST_Intersection(ST_Transform(ST_MakeValid(ST_CollectionExtract(p.geom, 3)), 4547),
                                ST_Transform(ST_MakeValid(ST_UnaryUnion(ST_CollectionExtract(dg.done_geom, 3))), 4547)))
        END AS area_done_m2
) sp ON TRUE"""


def spatial_join() -> str:
    """SPATIAL_JOIN measuring only geometries within the guard's bounds (decision 0093): a row stored before
    the guard (latitude 113, a million vertices) gets no figures instead of failing or stalling every answer."""
    limit = int(get_settings().max_vertices)
    area = in_service_area_sql("p.geom")
    done = in_service_area_sql("dg.done_geom")
    measurable = (
        f"{area} AND ST_NPoints(p.geom) <= {limit}"
        f" AND (dg.done_geom IS NULL OR ({done} AND ST_NPoints(dg.done_geom) <= {limit}))"
    )
    return SPATIAL_JOIN.replace("{measurable}", measurable)


def state_query(
    as_of: date,
    threshold_pct: float,
    filters: ProjectFilter | None = None,
    *,
    spatial: bool = False,
) -> tuple[str, dict[str, Any]]:
    """SQL (and its parameters) giving one row per matching project with its derived state at ``as_of``.

    Columns: project_id, plan_id, category, lead_units, precision, deadline, project_year, period,
    reported_status, status, overdue, delayed, delay_reason, percent, elapsed_pct, investment_wan, note,
    reported_at, demo; with ``spatial`` also planned/done lengths and areas in metres
    and spatial_progress (0-1).
    """
    filters = filters or ProjectFilter()
    params: dict[str, Any] = {
        "as_of": as_of,
        "as_of_month": month_start(as_of),
        "threshold": threshold_pct,
    }
    where = _where(filters, params)
    schedule = schedule_sql("p.year", "pl.year", "p.deadline")
    sql = f"""
WITH base AS (
    SELECT
        p.id AS project_id, p.plan_id, p.category, p.lead_units, p.precision, p.deadline,
        COALESCE(p.year, pl.year) AS project_year,
        r.period, r.status AS reported_status, COALESCE(r.percent, 0)::float AS percent,
        r.investment_wan::float AS investment_wan, r.note, r.behind_category, r.behind_reason,
        r.created_at AS reported_at, r.demo,
        t.start_date, t.end_date, ms.has_milestones, ms.planned_pct, ms.start_due, ms.due_milestone,
        ms.next_milestone, ms.next_due,
        {elapsed_pct_sql("t.start_date", "t.end_date", ":as_of")} AS elapsed_pct
        {SPATIAL_COLUMNS if spatial else ""}
    FROM projects p
    JOIN plans pl ON pl.id = p.plan_id
    LEFT JOIN (
        SELECT DISTINCT ON (x.project_id) x.project_id, x.period, x.status, x.percent, x.investment_wan, x.note,
               x.behind_category, x.behind_reason, x.created_at, x.demo
        FROM progress_reports x
        WHERE x.period <= :as_of_month {"AND x.project_id = :f_project_id" if filters.project_id is not None else ""}
        ORDER BY x.project_id, x.period DESC, x.created_at DESC, x.id DESC
    ) r ON r.project_id = p.id
    CROSS JOIN LATERAL (
        SELECT
            {schedule.start_date} AS start_date,
            {schedule.end_date} AS end_date
    ) t
    CROSS JOIN LATERAL ({milestones_sql("p.id", ":as_of")}) ms
    {spatial_join() if spatial else ""}
    WHERE {where}
), judged AS (
    SELECT b.*,
        {
        delay_reason_sql(
            "b.reported_status", "b.percent", "b.end_date", "b.planned_pct", "b.start_due", ":as_of", ":threshold"
        )
    }
            AS delay_reason
    FROM base b
)
SELECT j.*,
    j.delay_reason IS NOT NULL AS delayed,
    {status_sql("j.reported_status", "j.delay_reason")} AS status,
    COALESCE({overdue_sql(status_sql("j.reported_status", "j.delay_reason"), "j.end_date", ":as_of")}, FALSE)
        AS overdue
FROM judged j
"""
    if filters.status:
        if filters.status not in SCHEDULE_CLASSES:
            raise ValueError(f"unknown status {filters.status!r}")
        sql = f"SELECT * FROM ({sql}) s WHERE s.status = :f_status"
        params["f_status"] = filters.status
    return sql, params


def tune_for_state_queries(session: Session) -> None:
    """Per transaction: no JIT (it costs more than it saves on these queries: 1.8 s of 3 s at 100 000
    projects) and room to sort every report in memory."""
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
