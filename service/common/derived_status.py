"""The derived status of a task, written once as SQL and used by every reader (decision 0170).

/stats, the progress maps, the OGC ``projects`` collection (and its tiles and style) and the ledger all
show one status per task.  The delay rules (docs/decisions/0040-delay-rules.md) are therefore not copied
into each query: each query names its own columns and these functions return the SQL expressions.

* the schedule runs from 1 January of the task's year to its deadline (no deadline: 31 December of
  its year, the end of an annual work plan);
* 已完成 and 暂停 are kept as reported; otherwise the task is 滞后 when the reporter said so, when the
  deadline has passed, or when its percent lags the share of elapsed time by more than the threshold;
* no report yet: 未启动 at 0 %, and the same rules apply.

The arguments are SQL expressions (column names or bound parameters), never user text.
"""

from __future__ import annotations

from dataclasses import dataclass

DELAY_REASONS = ("reported", "deadline_passed", "behind_schedule")


@dataclass(frozen=True)
class Schedule:
    """SQL for a task's schedule: first day, last day."""

    start_date: str
    end_date: str


def schedule_sql(project_year: str, plan_year: str, deadline: str) -> Schedule:
    """Start and end of the schedule from the project's year, its plan's year and its deadline."""
    return Schedule(
        start_date=f"make_date(COALESCE({project_year}, {plan_year}, EXTRACT(year FROM {deadline})::int), 1, 1)",
        end_date=f"COALESCE({deadline}, make_date(COALESCE({project_year}, {plan_year}), 12, 31))",
    )


def elapsed_pct_sql(start_date: str, end_date: str, as_of: str) -> str:
    """The share of the schedule elapsed at ``as_of``, 0-100 (NULL without a schedule)."""
    return f"""CASE WHEN {start_date} IS NULL OR {end_date} IS NULL THEN NULL
             WHEN {end_date} <= {start_date} THEN CASE WHEN CAST({as_of} AS date) >= {end_date} THEN 100.0 ELSE 0.0 END
             ELSE LEAST(100.0, GREATEST(0.0,
                  100.0 * (CAST({as_of} AS date) - {start_date}) / ({end_date} - {start_date})))
        END"""


def delay_reason_sql(
    reported_status: str, percent: str, end_date: str, elapsed_pct: str, as_of: str, threshold: str
) -> str:
    """Why the task is late (one of DELAY_REASONS), or NULL when it is not."""
    return f"""CASE
            WHEN {reported_status} = '已完成' THEN NULL
            WHEN {reported_status} = '滞后' THEN 'reported'
            WHEN {end_date} IS NOT NULL AND CAST({as_of} AS date) > {end_date} THEN 'deadline_passed'
            WHEN {elapsed_pct} IS NOT NULL AND {elapsed_pct} - COALESCE({percent}, 0) > {threshold}
                THEN 'behind_schedule'
        END"""


def status_sql(reported_status: str, delay_reason: str) -> str:
    """The derived status from the reported one and the delay reason."""
    return f"""CASE
        WHEN {reported_status} IN ('已完成', '暂停') THEN {reported_status}
        WHEN {delay_reason} IS NOT NULL THEN '滞后'
        ELSE COALESCE({reported_status}, '未启动')
    END"""


def overdue_sql(status: str, end_date: str, as_of: str) -> str:
    """Past its deadline (or the end of its year) and not done."""
    return f"({status} IS DISTINCT FROM '已完成' AND CAST({as_of} AS date) > {end_date})"


# The latest report at a month: its period not after the month; a second report for the same month is a
# correction and wins by ``created_at`` (then by id).  The state query (service.progress.state) picks it with
# DISTINCT ON over every report; a reader of a few tasks (the ledger, decision 0210) probes
# ix_progress_reports_project_period once a task with this LATERAL form instead.
LATEST_FIRST = "period DESC, created_at DESC, id DESC"


def latest_report_sql(project_id: str, as_of_month: str, columns: str, *, with_done_geom: bool = False) -> str:
    """A subquery for ``LEFT JOIN LATERAL (...) r ON TRUE``: ``columns`` of the task's latest report at
    ``as_of_month`` (or of its latest report with a built part drawn, ``with_done_geom``)."""
    done = " AND done_geom IS NOT NULL" if with_done_geom else ""
    return (
        f"SELECT {columns} FROM progress_reports WHERE project_id = {project_id}"
        f" AND period <= {as_of_month}{done} ORDER BY {LATEST_FIRST} LIMIT 1"
    )


def spatial_measures_sql(planned: str, done: str, measurable: str) -> str:
    """A subquery for ``LEFT JOIN LATERAL (...) sp ON TRUE``: length_planned_m, length_done_m, area_planned_m2,
    area_done_m2 in metres (EPSG:4547, CGCS2000 / 3-degree Gauss-Kruger CM 114E), the same figures as the state
    query's; all NULL unless ``measurable`` (the geometry guard's bounds, decision 0093) holds."""
    return f"""SELECT
        CASE WHEN {measurable} THEN NULLIF(ST_Length(ST_Transform(ST_CollectionExtract({planned}, 2), 4547)), 0) END
            AS length_planned_m,
        CASE WHEN {measurable} THEN
            ST_Length(ST_Transform(ST_UnaryUnion(ST_CollectionExtract({done}, 2)), 4547)) END AS length_done_m,
        CASE WHEN {measurable} THEN NULLIF(ST_Area(ST_Transform(ST_CollectionExtract({planned}, 3), 4547)), 0) END
            AS area_planned_m2,
        CASE WHEN {measurable} THEN
            ST_Area(ST_Intersection(ST_Transform(ST_MakeValid(ST_CollectionExtract({planned}, 3)), 4547),
                                ST_Transform(ST_MakeValid(ST_UnaryUnion(ST_CollectionExtract({done}, 3))), 4547)))
        END AS area_done_m2"""


def spatial_progress_sql(measures: str) -> str:
    """Built over planned, 0-1: by area for an area, else by length (NULL for a point or no geometry)."""
    m = measures
    return f"""CASE WHEN {m}.area_planned_m2 > 0 THEN LEAST(1.0, COALESCE({m}.area_done_m2, 0) / {m}.area_planned_m2)
             WHEN {m}.length_planned_m > 0 THEN LEAST(1.0, COALESCE({m}.length_done_m, 0) / {m}.length_planned_m)
        END"""
