"""The notice (通报): open cases that are overdue or severe (严重) as of a date, grouped by responsible unit.

003 二(一): "对整改不达标、问题严重的予以通报, 督促限期整改".  One SQL statement over ``cases_then``
(service.case_reports.scope): the filters, the district the case lies in and the days overdue are all
computed in the database; Python only groups the ordered rows by unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.case_reports.scope import OPEN_SQL, Reader, cases_then_cte, params

NO_UNIT = "（尚未交办，未定责任单位）"


@dataclass(frozen=True)
class NoticeFilters:
    as_of: date
    city: str | None = None  # 长沙市 / 株洲市 / 湘潭市
    kind: str | None = None  # service.models.cases.CASE_KINDS

    def query_items(self) -> list[tuple[str, str]]:
        items = [("as_of", self.as_of.isoformat())]
        if self.city:
            items.append(("city", self.city))
        if self.kind:
            items.append(("kind", self.kind))
        return items


@dataclass
class UnitNotice:
    unit_id: int | None
    unit: str
    cases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for c in self.cases if c["overdue"])

    @property
    def severe(self) -> int:
        return sum(1 for c in self.cases if c["severity"] == "严重")

    def summary(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "unit": self.unit,
            "count": len(self.cases),
            "overdue": self.overdue,
            "severe": self.severe,
        }


def _sql(reader: Reader) -> str:
    return f"""WITH {cases_then_cte(reader.role)}
SELECT c.id, c.number, c.kind, c.title, c.city, c.found_on, c.deadline, c.severity,
       c.status_then AS status, c.responsible_unit_id AS unit_id, u.name AS unit,
       d.name AS district,
       (c.deadline IS NOT NULL AND c.deadline < CAST(:as_of AS date)) AS overdue,
       CASE WHEN c.deadline < CAST(:as_of AS date) THEN CAST(:as_of AS date) - c.deadline ELSE 0 END AS days_overdue
  FROM cases_then c
  LEFT JOIN units u ON u.id = c.responsible_unit_id
  LEFT JOIN LATERAL (
        SELECT dd.name FROM districts dd
         WHERE ST_Intersects(dd.geom, ST_PointOnSurface(c.geom))
         ORDER BY dd.name LIMIT 1
  ) d ON TRUE
 WHERE c.status_then IN {OPEN_SQL}
   AND (c.severity = '严重' OR (c.deadline IS NOT NULL AND c.deadline < CAST(:as_of AS date)))
   AND (CAST(:city AS text) IS NULL OR c.city = :city)
   AND (CAST(:kind AS text) IS NULL OR c.kind = :kind)
 ORDER BY u.name IS NULL, u.name, days_overdue DESC, c.severity = '严重' DESC, c.number"""


def notice(session: Session, reader: Reader, filters: NoticeFilters) -> list[UnitNotice]:
    """The units with at least one listed case, in the order of their names (cases not yet assigned last)."""
    rows = session.execute(
        text(_sql(reader)), params(reader.name, filters.as_of, city=filters.city, kind=filters.kind)
    ).mappings()
    units: list[UnitNotice] = []
    for row in rows:
        if not units or units[-1].unit_id != row["unit_id"]:
            units.append(UnitNotice(row["unit_id"], row["unit"] or NO_UNIT))
        units[-1].cases.append(dict(row))
    return units
