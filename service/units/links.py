"""The units of each task: ``project_units`` derived from ``projects.lead_units`` / ``responsible_units``.

Derived, never edited: a relink after an alias is added turns a flagged string into a link, and a plan
re-imported with other units gets other links.  Collective names are expanded here, at link time, against
the members valid at the plan's date (docs/decisions/0150-units-register.md).  A second run over unchanged
projects and an unchanged register writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from service.models.units import ProjectUnit
from service.units.index import RegisterIndex
from service.units.resolve import Resolution, resolve

_PROJECTS = """
SELECT p.id, p.lead_units, p.responsible_units, pl.city,
       COALESCE(pl.published, make_date(COALESCE(p.year, pl.year), 1, 1)) AS on_date
FROM projects p JOIN plans pl ON pl.id = p.plan_id
"""

Row = tuple[str, str, int | None, str | None, str | None, str | None]  # role raw unit via reason suggestions


@dataclass
class LinkCounts:
    projects: int = 0
    changed: int = 0
    links: int = 0
    unresolved: int = 0

    def __str__(self) -> str:
        return (
            f"{self.projects} projects, {self.changed} relinked; {self.links} unit links, "
            f"{self.unresolved} unit names unresolved"
        )


def rows_for(
    index: RegisterIndex, leads: Iterable[str], responsible: Iterable[str], city: str | None, on: date
) -> set[Row]:
    """The project_units rows one task's unit strings resolve to."""
    rows: set[Row] = set()
    for role, names in (("lead", leads), ("responsible", responsible)):
        for raw in names:
            rows |= _rows(role, resolve(index, raw, city, on))
    return rows


def _rows(role: str, found: Resolution) -> set[Row]:
    if not found.resolved:
        suggestions = json.dumps([s.as_dict() for s in found.suggestions], ensure_ascii=False, sort_keys=True)
        return {(role, found.raw, None, None, found.reason, suggestions)}
    return {(role, found.raw, unit, found.via_group, None, None) for unit in found.units}


def link_projects(
    session: Session,
    index: RegisterIndex,
    *,
    plans: Iterable[str] | None = None,
    project_ids: Iterable[int] | None = None,
) -> LinkCounts:
    """Rebuild the links of the projects (all, or of ``plans``, or ``project_ids``) that differ from the derivation."""
    sql = _PROJECTS
    params: dict[str, Any] = {}
    if plans is not None:
        sql += " WHERE p.plan_id IN :plans"
        params["plans"] = list(plans)
    elif project_ids is not None:
        sql += " WHERE p.id IN :ids"
        params["ids"] = list(project_ids)
    stmt = text(sql + " ORDER BY p.id")
    for name in params:
        stmt = stmt.bindparams(bindparam(name, expanding=True))
    projects = session.execute(stmt, params).all()
    current = _current_rows(session, [p.id for p in projects])
    counts = LinkCounts()
    for project in projects:
        wanted = rows_for(index, project.lead_units, project.responsible_units, project.city, project.on_date)
        counts.projects += 1
        counts.links += sum(1 for r in wanted if r[2] is not None)
        counts.unresolved += sum(1 for r in wanted if r[2] is None)
        if wanted == current.get(project.id, set()):
            continue
        counts.changed += 1
        session.execute(delete(ProjectUnit).where(ProjectUnit.project_id == project.id))
        if not wanted:
            continue
        session.execute(
            insert(ProjectUnit),
            [
                {
                    "project_id": project.id,
                    "role": role,
                    "raw": raw,
                    "unit_id": unit,
                    "via_group": via,
                    "reason": reason,
                    "suggestions": json.loads(suggestions) if suggestions else None,
                }
                for role, raw, unit, via, reason, suggestions in sorted(wanted, key=_order)
            ],
        )
    return counts


def _order(row: Row) -> tuple[str, str, int]:
    return (row[0], row[1], row[2] or 0)


def _current_rows(session: Session, project_ids: list[int]) -> dict[int, set[Row]]:
    current: dict[int, set[Row]] = {}
    if not project_ids:
        return current
    stmt = select(
        ProjectUnit.project_id,
        ProjectUnit.role,
        ProjectUnit.raw,
        ProjectUnit.unit_id,
        ProjectUnit.via_group,
        ProjectUnit.reason,
        ProjectUnit.suggestions,
    ).where(ProjectUnit.project_id.in_(project_ids))
    for pid, role, raw, unit, via, reason, suggestions in session.execute(stmt):
        encoded = json.dumps(suggestions, ensure_ascii=False, sort_keys=True) if suggestions is not None else None
        current.setdefault(pid, set()).add((role, raw, unit, via, reason, encoded))
    return current
