"""Summaries of project state by district (spatial), category, lead unit or plan.

Every group reports: project count, counts by (derived) status, completion rate, mean percent, the
sum of the latest reported investment, and spatial progress (done / planned metres, m²).

Grouping rules (docs/decisions/0041-stats-grouping.md):
* district: a project counts once, in the district polygon holding ``ST_PointOnSurface`` of its
  geometry (kept in ``project_districts`` by triggers, migration 0005); projects located only to the
  province or country (precision 4, 6) or not at all go to ``未定位到区县``;
* lead_unit: a project with several lead units counts under each (the group counts may add up to more
  than the total); none listed: ``未列明``;
* category / plan: as stored; no category: ``未分类``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common.derived_status import SCHEDULE_CLASSES
from service.progress.state import ProjectFilter, state_query, tune_for_state_queries

GROUPINGS = ("district", "category", "lead_unit", "plan")
NO_DISTRICT, NO_LEAD_UNIT, NO_CATEGORY = "未定位到区县", "未列明", "未分类"

SPATIAL_SUMS = """sum(s.length_planned_m) AS length_planned_m, sum(COALESCE(s.length_done_m, 0))
        FILTER (WHERE s.length_planned_m > 0) AS length_done_m,
    sum(s.area_planned_m2) AS area_planned_m2, sum(COALESCE(s.area_done_m2, 0))
        FILTER (WHERE s.area_planned_m2 > 0) AS area_done_m2"""
NO_SPATIAL_SUMS = "NULL::float AS length_planned_m, NULL::float AS length_done_m, NULL::float AS area_planned_m2,"
NO_SPATIAL_SUMS += " NULL::float AS area_done_m2"
_GROUP_SQL = {
    "category": (f"COALESCE(s.category, '{NO_CATEGORY}')", "NULL::text", "NULL::text", ""),
    "plan": ("s.plan_id", "pl.title", "NULL::text", "JOIN plans pl ON pl.id = s.plan_id"),
    "lead_unit": (
        f"COALESCE(u.unit, '{NO_LEAD_UNIT}')",
        "NULL::text",
        "NULL::text",
        "LEFT JOIN LATERAL unnest(CASE WHEN cardinality(s.lead_units) > 0 THEN s.lead_units"
        " ELSE ARRAY[NULL::text] END) AS u(unit) ON TRUE",
    ),
    "district": (
        f"COALESCE(d.name, '{NO_DISTRICT}')",
        "d.city",
        "d.adcode",
        "LEFT JOIN project_districts d ON d.project_id = s.project_id",
    ),
}


def stats(
    session: Session, by: str, as_of: date, threshold_pct: float, filters: ProjectFilter, *, spatial: bool = True
) -> dict[str, Any]:
    """Group the derived state of the filtered projects; ``by`` is one of GROUPINGS.  Without ``spatial``
    the metre figures are left out (the choropleth needs only counts, and measuring 100 000 geometries costs)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    key_sql, label_sql, code_sql, join_sql = _GROUP_SQL[by]
    state_sql, params = state_query(as_of, threshold_pct, filters, spatial=spatial)
    tune_for_state_queries(session)
    status_counts = ", ".join(
        f"count(*) FILTER (WHERE s.status = '{status}') AS \"n_{status}\"" for status in SCHEDULE_CLASSES
    )
    sql = f"""
SELECT {key_sql} AS key, max({label_sql}) AS label, max({code_sql}) AS code,
    count(*) AS projects, {status_counts},
    count(*) FILTER (WHERE s.delayed) AS delayed,
    avg(s.percent) AS mean_percent,
    sum(s.investment_wan) AS investment_wan,
    {SPATIAL_SUMS if spatial else NO_SPATIAL_SUMS}
FROM ({state_sql}) s
{join_sql}
GROUP BY 1
ORDER BY count(*) DESC, 1
"""
    groups = [_group(dict(row), by) for row in session.execute(text(sql), params).mappings()]
    return {"by": by, "as_of": as_of.isoformat(), "delay_threshold_pct": threshold_pct, "groups": groups}


def _ratio(done: float | None, planned: float | None) -> float | None:
    if not planned:
        return None
    return round(min(1.0, (done or 0.0) / planned), 4)


def _group(row: dict[str, Any], by: str) -> dict[str, Any]:
    projects = int(row["projects"])
    by_status = {status: int(row[f"n_{status}"]) for status in SCHEDULE_CLASSES}
    group: dict[str, Any] = {"key": row["key"]}
    if by == "plan":
        group["title"] = row["label"]
    if by == "district":
        group |= {"city": row["label"], "adcode": row["code"]}
    return group | {
        "projects": projects,
        "by_status": by_status,
        "delayed": int(row["delayed"]),
        "completion_rate": round(by_status["已完成"] / projects, 4) if projects else None,
        "mean_percent": None if row["mean_percent"] is None else round(float(row["mean_percent"]), 2),
        "investment_wan": None if row["investment_wan"] is None else round(float(row["investment_wan"]), 2),
        "spatial": {
            "length_planned_m": _round(row["length_planned_m"]),
            "length_done_m": _round(row["length_done_m"]),
            "length_progress": _ratio(row["length_done_m"], row["length_planned_m"]),
            "area_planned_m2": _round(row["area_planned_m2"]),
            "area_done_m2": _round(row["area_done_m2"]),
            "area_progress": _ratio(row["area_done_m2"], row["area_planned_m2"]),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
