"""The schedule class of a task, written once as SQL and used by every reader (decisions 0170, 0270).

/stats, the progress maps, the wall map, the OGC ``projects`` collection (and its tiles and style), the ledger
and the evaluations all show one class per task, the seed's three (003 二(三): 正常推进, 已开工进展缓慢,
应开工未开工) plus 已完成 and 暂停.  The rule is not copied into each query: each query names its own columns
and these functions return the SQL expressions.

* 已完成 and 暂停 are kept as reported;
* a task is *started* when its latest report says anything but 未启动 or gives a percent above 0;
* not started, and past the first milestone by which works must have begun (``starts_work``, or any
  milestone with a planned percent) or past its deadline: 应开工未开工 (``not_started``);
* started, and past its deadline (``deadline_passed``), or below the planned percent of the milestones due
  by then by more than the tolerance (``behind_milestone``), or reported 滞后 by its unit (``reported``):
  已开工进展缓慢;
* otherwise 正常推进 (which includes a task whose start is not yet due).

A task without milestones is judged by its deadline and its unit's word only: the straight line from
1 January to the deadline made every task of a new plan late by April (issue 17).  The backward schedule
(service.milestones.backward) is *offered* to the planner and counts once accepted.

The arguments are SQL expressions (column names or bound parameters), never user text.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULE_CLASSES = ("正常推进", "已开工进展缓慢", "应开工未开工", "已完成", "暂停")
BEHIND_CLASSES = ("已开工进展缓慢", "应开工未开工")
DELAY_REASONS = ("not_started", "deadline_passed", "behind_milestone", "reported")
DELAY_LABELS = {
    "not_started": "应开工未开工",
    "deadline_passed": "已过完成时限",
    "behind_milestone": "落后于节点计划",
    "reported": "单位上报滞后",
}

# English names a filter may use for a class (QGIS users, scripts)
CLASS_ALIASES = {
    "on_schedule": "正常推进",
    "started_behind": "已开工进展缓慢",
    "not_started": "应开工未开工",
    "done": "已完成",
    "completed": "已完成",
    "suspended": "暂停",
}


def parse_class(value: str) -> str:
    """A class filter's value as the class's name; ValueError naming the choices otherwise."""
    name = CLASS_ALIASES.get(value.strip().lower(), value.strip())
    if name not in SCHEDULE_CLASSES:
        choices = "、".join(SCHEDULE_CLASSES)
        raise ValueError(
            f"进度分类“{value}”不是 {choices} 之一 / status {value!r} is not one of {', '.join(SCHEDULE_CLASSES)}"
            f" (or {', '.join(CLASS_ALIASES)})"
        )
    return name


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
    """The share of the schedule elapsed at ``as_of``, 0-100 (NULL without a schedule); shown, not judged."""
    return f"""CASE WHEN {start_date} IS NULL OR {end_date} IS NULL THEN NULL
             WHEN {end_date} <= {start_date} THEN CASE WHEN CAST({as_of} AS date) >= {end_date} THEN 100.0 ELSE 0.0 END
             ELSE LEAST(100.0, GREATEST(0.0,
                  100.0 * (CAST({as_of} AS date) - {start_date}) / ({end_date} - {start_date})))
        END"""


def milestones_sql(project_id: str, as_of: str) -> str:
    """A subquery for ``CROSS JOIN LATERAL (...) ms``: one row per task (an aggregate) with

    * ``has_milestones``;
    * ``planned_pct``: the highest planned percent of the milestones due before ``as_of`` (NULL: none due);
    * ``start_due``: the first milestone by which works must have begun (NULL: none);
    * ``due_milestone``: the name of the latest milestone due; ``next_milestone``, ``next_due``: the next one.

    A milestone's ``due`` is the last day it may be reached: it counts from the day after.
    """
    day = f"CAST({as_of} AS date)"
    return f"""SELECT count(*) > 0 AS has_milestones,
            max(m.planned_percent) FILTER (WHERE m.due < {day})::float AS planned_pct,
            min(m.due) FILTER (WHERE m.starts_work OR m.planned_percent > 0) AS start_due,
            (array_agg(m.name ORDER BY m.due DESC, m.planned_percent DESC) FILTER (WHERE m.due < {day}))[1]
                AS due_milestone,
            (array_agg(m.name ORDER BY m.due, m.planned_percent) FILTER (WHERE m.due >= {day}))[1]
                AS next_milestone,
            min(m.due) FILTER (WHERE m.due >= {day}) AS next_due
        FROM task_milestones m WHERE m.project_id = {project_id}"""


def started_sql(reported_status: str, percent: str) -> str:
    """Works have begun: the latest report says more than 未启动, or gives a percent."""
    return f"(COALESCE({reported_status}, '未启动') <> '未启动' OR COALESCE({percent}, 0) > 0)"


def delay_reason_sql(
    reported_status: str,
    percent: str,
    end_date: str,
    planned_pct: str,
    start_due: str,
    as_of: str,
    threshold: str,
) -> str:
    """Why the task is behind (one of DELAY_REASONS), or NULL when it is not."""
    day = f"CAST({as_of} AS date)"
    started = started_sql(reported_status, percent)
    return f"""CASE
            WHEN {reported_status} IN ('已完成', '暂停') THEN NULL
            WHEN NOT {started} THEN CASE
                WHEN ({start_due} IS NOT NULL AND {day} > {start_due})
                  OR ({end_date} IS NOT NULL AND {day} > {end_date}) THEN 'not_started' END
            WHEN {end_date} IS NOT NULL AND {day} > {end_date} THEN 'deadline_passed'
            WHEN {planned_pct} IS NOT NULL AND {planned_pct} - COALESCE({percent}, 0) > {threshold}
                THEN 'behind_milestone'
            WHEN {reported_status} = '滞后' THEN 'reported'
        END"""


def status_sql(reported_status: str, delay_reason: str) -> str:
    """The schedule class (one of SCHEDULE_CLASSES) from the reported status and the delay reason."""
    return f"""CASE
        WHEN {reported_status} IN ('已完成', '暂停') THEN {reported_status}
        WHEN {delay_reason} = 'not_started' THEN '应开工未开工'
        WHEN {delay_reason} IS NOT NULL THEN '已开工进展缓慢'
        ELSE '正常推进'
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
