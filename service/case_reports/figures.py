"""The seed's figures (003 附件4: "确保违法违规行为发生率长株潭三市最低"): violations per city and per km² of
the Green Heart inside that city, by month and by year; open / overdue / closed by responsible unit; the time
to close (found → 销号) by unit and by kind.  Every count and every area is one set-based SQL statement
(decision 0241); Python only puts the rows into periods and marks the lowest rate.

- A violation is a case of kind 违法违规 found in the period (and by the as-of date), as the register stood at
  the end of the as-of date; a withdrawn one (撤销, "a wrong case") does not count.
- The Green Heart of a period is the 绿心 zones in force on its last day (or on the as-of date while the period
  runs): the union of every sub-zone of that scheme, intersected with the union of the city's districts, its
  area in EPSG:4547 (CGCS2000 Gauss-Krüger, metres).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.case_reports.scope import CITIES, LOCAL_TZ, OPEN_SQL, Reader, cases_then_cte, params

METRIC_SRID = 4547
YEARS_SHOWN = 5
VIOLATION = "违法违规"

GREEN_HEART_SQL = f"""
WITH refs AS (SELECT DISTINCT r FROM unnest(CAST(:refs AS date[])) AS r),
sets AS (
    SELECT refs.r, COALESCE(array_agg(z.id ORDER BY z.id) FILTER (WHERE z.id IS NOT NULL), '{{}}') AS ids
      FROM refs
      LEFT JOIN green_heart z ON z.valid_from <= refs.r AND (z.valid_to IS NULL OR refs.r <= z.valid_to)
     GROUP BY refs.r
),
heart AS (
    SELECT s.ids,
           (SELECT ST_Union(ST_MakeValid(ST_Transform(z.geom, {METRIC_SRID}))) FROM green_heart z
             WHERE z.id = ANY(s.ids)) AS g
      FROM (SELECT DISTINCT ids FROM sets) s
),
city AS (
    SELECT d.city, ST_Union(ST_MakeValid(ST_Transform(d.geom, {METRIC_SRID}))) AS g
      FROM districts d WHERE d.city = ANY(CAST(:cities AS text[])) GROUP BY d.city
),
area AS (
    SELECT heart.ids, city.city,
           COALESCE(ST_Area(ST_Intersection(city.g, heart.g)), 0) / 1e6 AS km2
      FROM heart CROSS JOIN city
)
SELECT sets.r, area.city, area.km2 FROM sets JOIN area ON area.ids = sets.ids
"""


def _violations_sql(reader: Reader) -> str:
    return f"""WITH {cases_then_cte(reader.role)}
SELECT c.city,
       GROUPING(date_trunc('month', c.found_on::timestamp)) = 1 AS is_year,
       COALESCE(date_trunc('month', c.found_on::timestamp), date_trunc('year', c.found_on::timestamp))::date AS period,
       count(*) AS n
  FROM cases_then c
 WHERE c.kind = '{VIOLATION}' AND c.status_then IS NOT NULL AND c.status_then <> '撤销'
   AND c.city = ANY(CAST(:cities AS text[]))
   AND c.found_on BETWEEN CAST(:start AS date) AND CAST(:as_of AS date)
 GROUP BY GROUPING SETS ((c.city, date_trunc('month', c.found_on::timestamp)),
                        (c.city, date_trunc('year', c.found_on::timestamp)))"""


def _rectification_sql(reader: Reader) -> str:
    """Per responsible unit, what the scoreboard (service.evaluations) judges: the cases whose rectification
    deadline fell between :start and :as_of (``due``, withdrawn ones aside), those of them closed (销号, China
    time) by their deadline, and the violations found in that span, beside the open / overdue / closed counts."""
    closed_day = f"(c.closed_then AT TIME ZONE '{LOCAL_TZ}')::date"
    due = "c.status_then <> '撤销' AND c.deadline BETWEEN CAST(:start AS date) AND CAST(:as_of AS date)"
    return f"""WITH {cases_then_cte(reader.role)}
SELECT c.responsible_unit_id AS unit_id, u.name AS unit,
       count(*) FILTER (WHERE c.status_then IN {OPEN_SQL}) AS open,
       count(*) FILTER (WHERE c.status_then IN {OPEN_SQL} AND c.deadline < CAST(:as_of AS date)) AS overdue,
       count(*) FILTER (WHERE c.status_then = '销号') AS closed,
       count(*) FILTER (WHERE c.status_then = '撤销') AS withdrawn,
       count(*) FILTER (WHERE {due}) AS due,
       count(*) FILTER (WHERE {due} AND c.status_then = '销号' AND {closed_day} <= c.deadline) AS closed_on_time,
       count(*) FILTER (WHERE c.kind = '{VIOLATION}' AND c.status_then <> '撤销'
                          AND c.found_on BETWEEN CAST(:start AS date) AND CAST(:as_of AS date)) AS violations
  FROM cases_then c LEFT JOIN units u ON u.id = c.responsible_unit_id
 WHERE c.status_then IS NOT NULL
 GROUP BY c.responsible_unit_id, u.name
 ORDER BY u.name IS NULL, u.name"""


def _close_sql(reader: Reader) -> str:
    return f"""WITH {cases_then_cte(reader.role)},
closed AS (
    SELECT c.responsible_unit_id AS unit_id, u.name AS unit, c.kind,
           ((c.closed_then AT TIME ZONE '{LOCAL_TZ}')::date - c.found_on) AS days
      FROM cases_then c LEFT JOIN units u ON u.id = c.responsible_unit_id
     WHERE c.status_then = '销号' AND c.closed_then IS NOT NULL
)
SELECT GROUPING(unit_id, unit) = 0 AS by_unit, GROUPING(kind) = 0 AS by_kind, unit_id, unit, kind,
       count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
       avg(days)::float AS mean_days
  FROM closed
 GROUP BY GROUPING SETS ((unit_id, unit), (kind), ())
 ORDER BY unit IS NULL, unit, kind"""


@dataclass(frozen=True)
class Period:
    grain: str  # month | year
    start: date
    end: date  # the period's last day, or the as-of date while it runs

    @property
    def label(self) -> str:
        return f"{self.start:%Y}" if self.grain == "year" else f"{self.start:%Y-%m}"


def periods(year: int, as_of: date) -> tuple[list[Period], list[Period]]:
    """The months of ``year`` and the ``YEARS_SHOWN`` years up to it, each cut at the as-of date."""
    months = []
    for m in range(1, 13):
        start = date(year, m, 1)
        if start > as_of:
            break
        months.append(Period("month", start, min(date(year, m, calendar.monthrange(year, m)[1]), as_of)))
    years = []
    for y in range(year - YEARS_SHOWN + 1, year + 1):
        start = date(y, 1, 1)
        if start <= as_of:
            years.append(Period("year", start, min(date(y, 12, 31), as_of)))
    return months, years


def green_heart_km2(session: Session, on: list[date]) -> dict[date, dict[str, float]]:
    """The Green Heart's area inside each city (km²) on each of the days ``on``."""
    out: dict[date, dict[str, float]] = {}
    if not on:
        return out
    for r, city, km2 in session.execute(text(GREEN_HEART_SQL), {"refs": on, "cities": list(CITIES)}):
        out.setdefault(r, {})[city] = float(km2)
    return out


def _rates(period: Period, counts: dict[str, int], areas: dict[str, float]) -> dict[str, Any]:
    cities = []
    for city in CITIES:
        n = counts.get(city, 0)
        km2 = areas.get(city, 0.0)
        per = n / km2 if km2 > 0 else None
        cities.append(
            {
                "city": city,
                "violations": n,
                "green_heart_km2": round(km2, 3),
                "per_km2": per,
                "per_100km2": None if per is None else per * 100,
            }
        )
    rated = [c["per_km2"] for c in cities if c["per_km2"] is not None]
    low = min(rated) if rated else None
    for c in cities:
        c["lowest"] = low is not None and c["per_km2"] is not None and abs(c["per_km2"] - low) < 1e-12
    return {
        "period": period.label,
        "grain": period.grain,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "green_heart_on": period.end.isoformat(),
        "cities": cities,
        "lowest": [c["city"] for c in cities if c["lowest"]],
    }


def violation_rates(session: Session, reader: Reader, year: int, as_of: date) -> dict[str, list[dict[str, Any]]]:
    months, years = periods(year, as_of)
    start = years[0].start if years else date(year, 1, 1)
    counts: dict[tuple[bool, date], dict[str, int]] = {}
    rows = session.execute(
        text(_violations_sql(reader)), params(reader.name, as_of, cities=list(CITIES), start=start)
    ).mappings()
    for row in rows:
        counts.setdefault((row["is_year"], row["period"]), {})[row["city"]] = int(row["n"])
    areas = green_heart_km2(session, sorted({p.end for p in months + years}))
    return {
        "by_month": [_rates(p, counts.get((False, p.start), {}), areas.get(p.end, {})) for p in months],
        "by_year": [_rates(p, counts.get((True, p.start), {}), areas.get(p.end, {})) for p in years],
    }


UNIT_COUNTS = ("unit_id", "unit", "open", "overdue", "closed", "withdrawn")


def by_unit(session: Session, reader: Reader, as_of: date) -> list[dict[str, Any]]:
    """Open, overdue, closed and withdrawn per responsible unit: the scoreboard's query, without its year."""
    rows = rectification_by_unit(session, reader, date(as_of.year, 1, 1), as_of)
    return [{k: r[k] for k in UNIT_COUNTS} for r in rows]


def time_to_close(session: Session, reader: Reader, as_of: date) -> dict[str, Any]:
    rows = session.execute(text(_close_sql(reader)), params(reader.name, as_of)).mappings()
    out: dict[str, Any] = {"all": {"closed": 0, "median_days": None, "mean_days": None}, "by_unit": [], "by_kind": []}
    for r in rows:
        entry = {
            "closed": int(r["n"]),
            "median_days": None if r["median_days"] is None else float(r["median_days"]),
            "mean_days": None if r["mean_days"] is None else round(float(r["mean_days"]), 2),
        }
        if r["by_unit"]:
            out["by_unit"].append({"unit_id": r["unit_id"], "unit": r["unit"] or "（未交办）", **entry})
        elif r["by_kind"]:
            out["by_kind"].append({"kind": r["kind"], **entry})
        else:
            out["all"] = entry
    return out


def rectification_by_unit(session: Session, reader: Reader, start: date, as_of: date) -> list[dict[str, Any]]:
    """Each responsible unit's cases as the scoreboard counts them (see ``_rectification_sql``)."""
    rows = session.execute(text(_rectification_sql(reader)), params(reader.name, as_of, start=start)).mappings()
    return [{**dict(r), "unit": r["unit"] or "（未交办）"} for r in rows]
