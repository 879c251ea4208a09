"""What every notice and figure reads: the cases the caller may see, each with its status *as of a date*.

A notice or a figure "as of" a day shows the register as it stood at the end of that day (China time): a case's
status then is the ``to_status`` of its last timeline event up to that day; a case registered later is not
there yet.  A case with no event at all (rows written outside the use cases, an import) counts with its
current status from the day it was found.  Visibility is ``service.cases.access.visible_sql``, the one
predicate the list, the map and the case pages use too (decision 0240).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from service.cases.access import ALL_CASES_ROLES, visible_params, visible_sql
from service.cases.workflow import CLOSED_STATUSES, OPEN_STATUSES
from service.models.cases import CASE_KINDS, CASE_SEVERITIES

CITIES = ("长沙市", "株洲市", "湘潭市")
READER_ROLES = ("editor", *ALL_CASES_ROLES)  # a viewer and an anonymous caller see no case (service.cases.access)
LOCAL_TZ = "Asia/Shanghai"
# midnight at the end of :as_of, China time, as a timestamptz
END_OF_DAY = f"((CAST(:as_of AS date) + 1)::timestamp AT TIME ZONE '{LOCAL_TZ}')"

__all__ = ["CASE_KINDS", "CASE_SEVERITIES", "CLOSED_STATUSES", "OPEN_STATUSES"]


def may_read(role: str | None) -> bool:
    return role in READER_ROLES


def sql_list(values: tuple[str, ...]) -> str:
    """A literal SQL list of fixed, known strings (the workflow's statuses): never user input."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


OPEN_SQL = sql_list(OPEN_STATUSES)


def cases_then_cte(role: str | None) -> str:
    """``cases_then``: every visible case with ``status_then`` (its status at the end of :as_of) and
    ``closed_then`` (when it was closed, 销号, if it was by then).  Bind :as_of and :func:`params`."""
    return f"""cases_then AS (
    SELECT c.*, s.status_then, s.closed_then
      FROM cases c
      CROSS JOIN LATERAL (
        SELECT CASE
                 WHEN EXISTS (SELECT 1 FROM case_events e0 WHERE e0.case_id = c.id) THEN
                   (SELECT e.to_status FROM case_events e
                     WHERE e.case_id = c.id AND e.at < {END_OF_DAY}
                     ORDER BY e.at DESC, e.id DESC LIMIT 1)
                 WHEN c.found_on <= CAST(:as_of AS date) THEN c.status
               END AS status_then,
               COALESCE(
                 (SELECT max(e.at) FROM case_events e
                   WHERE e.case_id = c.id AND e.to_status = '销号' AND e.at < {END_OF_DAY}),
                 CASE WHEN c.closed_at < {END_OF_DAY} THEN c.closed_at END
               ) AS closed_then
      ) s
     WHERE {visible_sql(role, "c")}
)"""


def params(actor: str | None, as_of: date, **more: Any) -> dict[str, Any]:
    return {**visible_params(actor), "as_of": as_of, **more}


@dataclass(frozen=True)
class Reader:
    """Who asks: their account name and role (what ``service.cases.access`` needs)."""

    name: str
    role: str | None
