"""Who sees which cases (issue 16, decision 0220): one predicate for the list, the map, the page, the files,
the notices and the ``cases`` collection, so no view shows a case another hides.

- inspectors, coordinators (两型办), admins and GIS staff see every case;
- an editor sees the cases assigned to their unit (or a unit under it, or one it took over: the unit
  register's scope, ``service.units.access.SCOPE_CTE``) and the cases they filed themselves;
- a viewer and an anonymous caller see none: a case names people and places under investigation.
"""

from __future__ import annotations

from typing import Any

ALL_CASES_ROLES = ("inspector", "coordinator", "admin", "gis")

# the account's unit and the units under it / taken over by it, as the unit register's access scope does
_UNIT_SCOPE = """(
    WITH RECURSIVE scope(id) AS (
        SELECT u.unit_id FROM users u WHERE u.name = :case_actor AND u.unit_id IS NOT NULL
        UNION
        SELECT un.id FROM units un JOIN scope s ON un.parent_id = s.id OR un.successor_id = s.id
    ) SELECT id FROM scope
)"""


def visible_sql(role: str | None, alias: str = "c") -> str:
    """A SQL predicate over the case row ``alias`` (bind ``:case_actor`` with :func:`visible_params`)."""
    if role in ALL_CASES_ROLES:
        return "TRUE"
    if role == "editor":
        return f"({alias}.responsible_unit_id IN {_UNIT_SCOPE} OR {alias}.found_by = :case_actor)"
    return "FALSE"


def visible_params(actor: str | None) -> dict[str, Any]:
    return {"case_actor": actor or ""}


def in_responsible_unit_sql(alias: str = "c") -> str:
    """Whether the actor's unit (or a unit above it in the scope sense) is the case's responsible unit."""
    return f"({alias}.responsible_unit_id IN {_UNIT_SCOPE})"
