"""The SQL conditions on a task that need no derived state: plan, category, year and district.

The ledger (``service.ledger.query``) and the progress state (``service.progress.state``) filter tasks the
same way; both build their WHERE from these, over ``p`` (projects) joined to ``pl`` (plans).  The district
is the task's recorded district (``project_districts``, by name or adcode).
"""

from __future__ import annotations

from typing import Any


def task_conditions(
    params: dict[str, Any],
    *,
    plan: str | None = None,
    category: str | None = None,
    year: int | None = None,
    district: str | None = None,
) -> list[str]:
    """The conditions for the filters given, their values bound into ``params`` (``:f_plan`` ...)."""
    conditions = []
    if plan:
        conditions.append("p.plan_id = :f_plan")
        params["f_plan"] = plan
    if category:
        conditions.append("p.category = :f_category")
        params["f_category"] = category
    if year is not None:
        conditions.append("COALESCE(p.year, pl.year) = :f_year")
        params["f_year"] = year
    if district:
        conditions.append(
            "EXISTS (SELECT 1 FROM project_districts pd WHERE pd.project_id = p.id"
            " AND (pd.name = :f_district OR pd.adcode = :f_district))"
        )
        params["f_district"] = district
    return conditions
