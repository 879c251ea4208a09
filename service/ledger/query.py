"""The ledger as one SQL query: the derived state at a month (the progress area's state query, the same
rules as /stats and the maps) joined to the task's text, plan and units, filtered and in the plan's order.

The plan's own order is its document order: plans by year and id, sections in the order they first
appear, then the task's number read as a number where it is one, then the order of import.
"""

from __future__ import annotations

from typing import Any

from service.ledger.filters import LedgerFilters, like_pattern

ORDER_SQL = "l.plan_year, l.plan_id, l.section_order, l.number_order NULLS LAST, l.id"


def ledger_sql(
    state_sql: str, state_params: dict[str, Any], filters: LedgerFilters, unit_task_ids: list[int] | None
) -> tuple[str, dict[str, Any]]:
    """The rows (columns of service.ledger.columns plus id, total) over ``state_sql``, the state query
    already filtered by plan, year, category, district and status."""
    params = dict(state_params)
    conditions = ["TRUE"]
    if unit_task_ids is not None:
        conditions.append("p.id = ANY(:l_unit_tasks)")
        params["l_unit_tasks"] = unit_task_ids
    if filters.overdue is not None:
        conditions.append("s.overdue = :l_overdue")
        params["l_overdue"] = filters.overdue
    if filters.q:
        conditions.append(
            "(p.title ILIKE :l_q OR p.task_text ILIKE :l_q OR p.number ILIKE :l_q OR p.section ILIKE :l_q"
            " OR array_to_string(p.lead_units, ' ') ILIKE :l_q"
            " OR array_to_string(p.responsible_units, ' ') ILIKE :l_q)"
        )
        params["l_q"] = like_pattern(filters.q.strip())
    sql = f"""
SELECT l.* FROM (
    SELECT p.id, p.plan_id, pl.title AS plan_title, pl.year AS plan_year, p.section, p.number, p.title,
        p.task_text, p.lead_units, p.responsible_units, p.deadline, p.deadline_text,
        s.status, s.reported_status, s.percent, s.spatial_progress, s.note, s.delay_reason, s.overdue, s.period,
        min(p.id) OVER (PARTITION BY p.plan_id, p.section) AS section_order,
        CASE WHEN p.number ~ '^\\s*[0-9]{{1,9}}\\s*$' THEN CAST(trim(p.number) AS integer) END AS number_order,
        count(*) OVER () AS total
    FROM ({state_sql}) s
    JOIN projects p ON p.id = s.project_id
    JOIN plans pl ON pl.id = p.plan_id
    WHERE {" AND ".join(conditions)}
) l
ORDER BY {ORDER_SQL}
"""
    return sql, params


OPTIONS_SQL = {
    "plans": "SELECT id, title, year FROM plans ORDER BY year DESC, id",
    "years": "SELECT DISTINCT COALESCE(p.year, pl.year) AS year FROM projects p JOIN plans pl ON pl.id = p.plan_id"
    " ORDER BY 1 DESC",
    "categories": "SELECT DISTINCT category FROM projects WHERE category IS NOT NULL ORDER BY 1",
    "districts": "SELECT DISTINCT name, adcode FROM project_districts WHERE name IS NOT NULL ORDER BY adcode, name",
    "units": "SELECT DISTINCT u.id, u.name FROM units u JOIN project_units pu ON pu.unit_id = u.id ORDER BY u.name",
}

USER_UNIT_SQL = "SELECT u.unit_id FROM users u WHERE u.name = :name"
