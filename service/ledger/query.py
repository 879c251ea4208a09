"""The ledger as one SQL query: each matching task with its derived state at a month (the delay rules of
service.common.derived_status, as /stats, the maps and the OGC collection apply them), its text, plan and
units, filtered and in the plan's order.

The plan's own order is its document order: plans by year and id, sections in the order they first
appear, then the task's number read as a number where it is one, then the order of import.

Shaped for a page of a large plan (decision 0210): the state is derived per matching task (its latest
report by one index probe, not every report of the database sorted), the order, count and page are taken
on it, and only then the spatial progress (the costly part: geometry transforms) is measured, for the rows
returned (every row of an export, the first PAGE_ROWS of a page).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from service.common.derived_status import (
    SCHEDULE_CLASSES,
    delay_reason_sql,
    elapsed_pct_sql,
    latest_report_sql,
    milestones_sql,
    overdue_sql,
    schedule_sql,
    spatial_measures_sql,
    spatial_progress_sql,
    status_sql,
)
from service.common.geometry_guard import in_service_area_sql
from service.common.task_filters import task_conditions
from service.ledger.filters import LedgerFilters, like_pattern

ORDER_SQL = "l.plan_year, l.plan_id, l.section_order, l.number_order NULLS LAST, l.id"


def _task_conditions(filters: LedgerFilters, unit_tasks_cte: str | None, params: dict[str, Any]) -> str:
    """Conditions on ``p`` (projects) and ``pl`` (plans) that need no derived state."""
    conditions = [
        "TRUE",
        *task_conditions(
            params, plan=filters.plan, category=filters.category, year=filters.year, district=filters.district
        ),
    ]
    if unit_tasks_cte is not None:
        conditions.append("p.id IN (SELECT id FROM unit_tasks)")
        params["l_unit"] = filters.unit
    if filters.q:
        conditions.append(
            "(p.title ILIKE :l_q OR p.task_text ILIKE :l_q OR p.number ILIKE :l_q OR p.section ILIKE :l_q"
            " OR array_to_string(p.lead_units, ' ') ILIKE :l_q"
            " OR array_to_string(p.responsible_units, ' ') ILIKE :l_q)"
        )
        params["l_q"] = like_pattern(filters.q.strip())
    return " AND ".join(conditions)


def _state_conditions(filters: LedgerFilters, params: dict[str, Any]) -> str:
    """Conditions on the derived state ``s``."""
    conditions = ["TRUE"]
    if filters.status:
        if filters.status not in SCHEDULE_CLASSES:
            raise ValueError(f"unknown status {filters.status!r}")
        conditions.append("s.status = :f_status")
        params["f_status"] = filters.status
    if filters.overdue is not None:
        conditions.append("s.overdue = :l_overdue")
        params["l_overdue"] = filters.overdue
    return " AND ".join(conditions)


def ledger_sql(
    filters: LedgerFilters,
    unit_tasks_cte: str | None,
    as_of: date,
    threshold_pct: float,
    max_vertices: int,
    limit: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """The rows (columns of service.ledger.columns plus id, reported_status, total), the first ``limit`` of
    them when given.  ``unit_tasks_cte``: the units area's CTEs ``unit_scope`` and ``unit_tasks`` for the
    ``unit=`` filter (``filters.unit`` bound as ``:l_unit``), joined in this query (decision 0184), None for
    every task."""
    params: dict[str, Any] = {"as_of": as_of, "as_of_month": as_of.replace(day=1), "threshold": threshold_pct}
    tasks = _task_conditions(filters, unit_tasks_cte, params)
    state = _state_conditions(filters, params)
    schedule = schedule_sql("p.year", "pl.year", "p.deadline")
    reason = delay_reason_sql(
        "b.reported_status", "b.percent", "b.end_date", "b.planned_pct", "b.start_due", ":as_of", ":threshold"
    )
    status = status_sql("j.reported_status", "j.delay_reason")
    measurable = (
        f"{in_service_area_sql('p.geom')} AND ST_NPoints(p.geom) <= {int(max_vertices)}"
        f" AND (dg.done_geom IS NULL OR ({in_service_area_sql('dg.done_geom')}"
        f" AND ST_NPoints(dg.done_geom) <= {int(max_vertices)}))"
    )
    scope = f"RECURSIVE {unit_tasks_cte}," if unit_tasks_cte is not None else ""
    sql = f"""
WITH {scope} base AS (
    SELECT p.id, p.plan_id, pl.year AS plan_year, p.section, p.number,
        r.id AS report_id, r.period, r.status AS reported_status, COALESCE(r.percent, 0)::float AS percent,
        t.end_date, {elapsed_pct_sql("t.start_date", "t.end_date", ":as_of")} AS elapsed_pct,
        ms.has_milestones, ms.planned_pct, ms.start_due, ms.next_milestone, ms.next_due
    FROM projects p
    JOIN plans pl ON pl.id = p.plan_id
    LEFT JOIN LATERAL ({latest_report_sql("p.id", ":as_of_month", "id, period, status, percent")}) r ON TRUE
    CROSS JOIN LATERAL (SELECT {schedule.start_date} AS start_date, {schedule.end_date} AS end_date) t
    CROSS JOIN LATERAL ({milestones_sql("p.id", ":as_of")}) ms
    WHERE {tasks}
), judged AS (
    SELECT b.*, {reason} AS delay_reason FROM base b
), s AS (
    SELECT j.*, {status} AS status,
        COALESCE({overdue_sql(status, "j.end_date", ":as_of")}, FALSE) AS overdue
    FROM judged j
), matched AS (
    SELECT s.id, s.plan_id, s.plan_year, s.section, s.number, s.report_id, s.period, s.reported_status,
        s.percent, s.status, s.delay_reason, s.overdue, s.has_milestones, s.planned_pct, s.next_milestone,
        s.next_due,
        min(s.id) OVER (PARTITION BY s.plan_id, s.section) AS section_order,
        CASE WHEN s.number ~ '^\\s*[0-9]{{1,9}}\\s*$' THEN CAST(trim(s.number) AS integer) END AS number_order,
        count(*) OVER () AS total
    FROM s
    WHERE {state}
)
SELECT l.id, l.plan_id, pl.title AS plan_title, l.plan_year, l.section, l.number, p.title, p.task_text,
    p.lead_units, p.responsible_units, p.deadline, p.deadline_text, l.status, l.reported_status, l.percent,
    rep.note, rep.behind_category, rep.behind_reason, l.delay_reason, l.overdue, l.period, l.has_milestones,
    l.planned_pct, l.next_milestone, l.next_due, l.section_order, l.number_order, l.total,
    p.precision, p.location_status,
    {spatial_progress_sql("sp")} AS spatial_progress
FROM (SELECT * FROM matched l ORDER BY {ORDER_SQL}{f" LIMIT {int(limit)}" if limit is not None else ""}) l
CROSS JOIN LATERAL (SELECT title, task_text, lead_units, responsible_units, deadline, deadline_text, geom,
                           precision, location_status
                    FROM projects WHERE id = l.id) p
CROSS JOIN LATERAL (SELECT title FROM plans WHERE id = l.plan_id) pl
LEFT JOIN LATERAL (SELECT note, behind_category, behind_reason FROM progress_reports WHERE id = l.report_id) rep
    ON TRUE
LEFT JOIN LATERAL ({latest_report_sql("l.id", ":as_of_month", "done_geom", with_done_geom=True)}) dg ON TRUE
LEFT JOIN LATERAL ({spatial_measures_sql("p.geom", "dg.done_geom", measurable)}) sp ON TRUE
ORDER BY {ORDER_SQL}
"""
    return sql, params


OPTIONS_SQL = {
    "plans": "SELECT id, title, year FROM plans ORDER BY year DESC, id",
    # a task's year, or its plan's: the distinct years of tasks (a loose index scan of ix_projects_year, one
    # probe a year, migration 0019), and the years of plans with a task that has none
    "years": "WITH RECURSIVE y AS (SELECT min(year) AS year FROM projects"
    " UNION ALL SELECT (SELECT min(p.year) FROM projects p WHERE p.year > y.year) FROM y WHERE y.year IS NOT NULL)"
    " SELECT year FROM y WHERE year IS NOT NULL"
    " UNION SELECT pl.year FROM plans pl"
    " WHERE EXISTS (SELECT 1 FROM projects p WHERE p.plan_id = pl.id AND p.year IS NULL) ORDER BY 1 DESC",
    # loose index scans (one probe a distinct value) of ix_projects_category and of ix_project_districts_pair
    # (migration 0019): a pass over every task's row cost 10-20 ms at 110,000 tasks, on every page
    "categories": "WITH RECURSIVE c AS ((SELECT category FROM projects WHERE category IS NOT NULL"
    " ORDER BY category LIMIT 1) UNION ALL SELECT (SELECT p.category FROM projects p WHERE p.category > c.category"
    " ORDER BY p.category LIMIT 1) FROM c WHERE c.category IS NOT NULL)"
    " SELECT category FROM c WHERE category IS NOT NULL ORDER BY 1",
    "districts": "WITH RECURSIVE d AS ((SELECT adcode, name FROM project_districts ORDER BY adcode, name LIMIT 1)"
    " UNION ALL SELECT n.adcode, n.name FROM d CROSS JOIN LATERAL (SELECT x.adcode, x.name FROM project_districts x"
    " WHERE (x.adcode, x.name) > (d.adcode, d.name) ORDER BY x.adcode, x.name LIMIT 1) n)"
    " SELECT name, adcode FROM d ORDER BY adcode, name",
    # the register's units that some task names (an index probe a unit, not a pass over every link)
    "units": "SELECT u.id, u.name FROM units u"
    " WHERE EXISTS (SELECT 1 FROM project_units pu WHERE pu.unit_id = u.id) ORDER BY u.name",
}

USER_UNIT_SQL = "SELECT u.unit_id FROM users u WHERE u.name = :name"
