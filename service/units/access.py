"""Which tasks are a unit's, and so who may report on a task.

A unit's tasks are those where it, a unit under it (``parent``), or a unit it took over (``successor``: the
merged 市国土资源局's tasks are 市自然资源和规划局's) is lead or responsible, directly or through a
collective name.  The same scope answers "what does this unit see" and "may this editor report".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# the unit, the units under it and the units it took over, transitively
SCOPE_CTE = """
WITH RECURSIVE scope(id) AS (
    SELECT CAST(:unit AS integer)
    UNION
    SELECT u.id FROM units u JOIN scope s ON u.parent_id = s.id OR u.successor_id = s.id
)
"""
_SELF_ONLY = "WITH scope(id) AS (SELECT CAST(:unit AS integer))"

# a coordinator (两型办) and an admin report on every task; an editor on their unit's
ALL_TASKS_ROLES = ("admin", "coordinator")


def scope_sql(include_children: bool) -> str:
    return SCOPE_CTE if include_children else _SELF_ONLY


def tasks_for_unit(session: Session, unit_id: int, include_children: bool = True) -> list[dict[str, Any]]:
    """The projects where the unit (or, with ``include_children``, a unit under it) is lead or responsible.

    Each with the roles and the strings it came from (石峰区人民政府 directly, or via 各县市区人民政府).
    """
    rows = session.execute(
        text(
            scope_sql(include_children)
            + """
            SELECT p.id, p.key, p.plan_id, p.title, p.category,
                   array_agg(DISTINCT pu.role ORDER BY pu.role) AS roles,
                   array_agg(DISTINCT u.name ORDER BY u.name) AS units,
                   array_agg(DISTINCT COALESCE(pu.via_group, pu.raw) ORDER BY COALESCE(pu.via_group, pu.raw)) AS via
            FROM project_units pu
            JOIN scope s ON s.id = pu.unit_id
            JOIN units u ON u.id = pu.unit_id
            JOIN projects p ON p.id = pu.project_id
            GROUP BY p.id ORDER BY p.plan_id, p.id
            """
        ),
        {"unit": unit_id},
    ).mappings()
    return [dict(r) for r in rows]


# the same scope as one CTE of a larger query (after ``WITH RECURSIVE``), its unit given as ``:{param}``
_SCOPE_CTE_PART = """unit_scope(id) AS (
    SELECT CAST(:{param} AS integer)
    UNION
    SELECT u.id FROM units u JOIN unit_scope s ON u.parent_id = s.id OR u.successor_id = s.id
), unit_tasks(id) AS (
    SELECT pu.project_id FROM project_units pu WHERE pu.unit_id = ANY (ARRAY(SELECT id FROM unit_scope))
)"""


def unit_tasks_cte(param: str) -> str:
    """CTEs ``unit_scope(id)`` and ``unit_tasks(id)`` (the unit's task ids, as :func:`task_ids_for_unit`
    selects them) to join in another query after ``WITH RECURSIVE``; the unit id is bound as ``:param``."""
    if not param.isidentifier():
        raise ValueError(f"not a bind parameter name: {param!r}")
    return _SCOPE_CTE_PART.format(param=param)


def scope_unit_ids(session: Session, unit_id: int) -> set[int]:
    """The unit, the units under it and the units it took over: whose tasks are the unit's."""
    return set(session.scalars(text(SCOPE_CTE + "SELECT id FROM scope"), {"unit": unit_id}))


def unit_of_user(session: Session, user: str) -> dict[str, Any] | None:
    row = (
        session.execute(
            text("SELECT un.id, un.name, un.city FROM users u JOIN units un ON un.id = u.unit_id WHERE u.name = :n"),
            {"n": user},
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def task_ids_for_unit(session: Session, unit_id: int, include_children: bool = True) -> list[int]:
    """Only the project ids: what a ``unit=`` filter of the ledger selects."""
    sql = scope_sql(include_children) + (
        "SELECT DISTINCT pu.project_id FROM project_units pu JOIN scope s ON s.id = pu.unit_id ORDER BY 1"
    )
    return list(session.scalars(text(sql), {"unit": unit_id}))


@dataclass(frozen=True)
class ReportDecision:
    allowed: bool
    reason: str | None = None  # why refused, in Chinese and English


def may_report(session: Session, user: str, role: str | None, project_id: int) -> ReportDecision:
    """May the account ``user`` (``role``) report progress on the project?  A missing project is allowed here:
    the report itself answers 404."""
    if role in ALL_TASKS_ROLES:
        return ReportDecision(True)
    if session.execute(text("SELECT 1 FROM projects WHERE id = :p"), {"p": project_id}).first() is None:
        return ReportDecision(True)
    account = session.execute(
        text("SELECT u.unit_id, un.name FROM users u LEFT JOIN units un ON un.id = u.unit_id WHERE u.name = :n"),
        {"n": user},
    ).first()
    if account is None or account.unit_id is None:
        return ReportDecision(
            False,
            "无权填报：您的账户未归属任何单位，请管理员用 `xiangmap units assign-user` 指定 / "
            "your account belongs to no unit, so it may report on no task; an admin assigns one "
            "(`xiangmap units assign-user`)",
        )
    covered = session.execute(
        text(SCOPE_CTE + "SELECT 1 FROM project_units pu JOIN scope s ON s.id = pu.unit_id WHERE pu.project_id = :p"),
        {"unit": account.unit_id, "p": project_id},
    ).first()
    if covered is not None:
        return ReportDecision(True)
    theirs = task_unit_names(session, project_id)
    listed = "、".join(theirs) if theirs else "（未登记 / none linked）"
    return ReportDecision(
        False,
        f"无权填报：本任务的牵头/责任单位不含 {account.name} 及其下属单位（本任务单位：{listed}） / "
        f"not your unit's task: the lead and responsible units of project {project_id} do not include "
        f"{account.name} or a unit under it (its units: {listed})",
    )


def task_unit_names(session: Session, project_id: int) -> list[str]:
    """The linked units of a task, leads first, then the unresolved strings as written."""
    rows = session.execute(
        text(
            "SELECT COALESCE(u.name, pu.raw) FROM project_units pu LEFT JOIN units u ON u.id = pu.unit_id"
            " WHERE pu.project_id = :p GROUP BY 1 ORDER BY min(pu.role), 1"
        ),
        {"p": project_id},
    )
    return [r[0] for r in rows]
