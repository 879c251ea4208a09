"""Whose tasks a sheet holds: the account's unit, the unit's tasks with last month's report, the units offered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem

ALL_TASKS_ROLES = ("admin", "coordinator")  # as service.units.access: they report on every task

TASKS_SQL = """
SELECT t.* FROM (
    SELECT p.id, p.plan_id, pl.year AS plan_year, p.section, p.number, p.title, p.lead_units, p.responsible_units,
        p.deadline, p.deadline_text,
        prev.status AS previous_status, prev.percent AS previous_percent,
        cur.status, cur.percent, cur.investment_wan, cur.note, cur.behind_reason, cur.behind_category,
        min(p.id) OVER (PARTITION BY p.plan_id, p.section) AS section_order,
        CASE WHEN p.number ~ '^\\s*[0-9]{1,9}\\s*$' THEN CAST(trim(p.number) AS integer) END AS number_order
    FROM projects p
    JOIN plans pl ON pl.id = p.plan_id
    LEFT JOIN LATERAL (
        SELECT r.status, r.percent::float AS percent FROM progress_reports r
        WHERE r.project_id = p.id AND r.period < :period ORDER BY r.period DESC, r.created_at DESC, r.id DESC LIMIT 1
    ) prev ON TRUE
    LEFT JOIN LATERAL (
        SELECT r.status, r.percent::float AS percent, r.investment_wan::float AS investment_wan, r.note,
            r.behind_reason, r.behind_category
        FROM progress_reports r
        WHERE r.project_id = p.id AND r.period = :period ORDER BY r.created_at DESC, r.id DESC LIMIT 1
    ) cur ON TRUE
    WHERE p.id = ANY(:ids) AND COALESCE(p.year, pl.year) <= :year
) t
ORDER BY t.plan_year, t.plan_id, t.section_order, t.number_order NULLS LAST, t.id
"""


@dataclass(frozen=True)
class Unit:
    id: int
    name: str


def account_unit(session: Session, user: str) -> Unit | None:
    """The unit the account belongs to (users.unit_id), or None."""
    row = session.execute(
        text("SELECT un.id, un.name FROM users u JOIN units un ON un.id = u.unit_id WHERE u.name = :n"), {"n": user}
    ).first()
    return Unit(row.id, row.name) if row else None


def unit(session: Session, unit_id: int) -> Unit:
    row = session.execute(text("SELECT id, name FROM units WHERE id = :id"), {"id": unit_id}).first()
    if row is None:
        raise Problem(404, f"没有编号为 {unit_id} 的单位 / unit {unit_id} does not exist", parameter="unit")
    return Unit(row.id, row.name)


def units_with_tasks(session: Session) -> list[Unit]:
    """The units a coordinator may pick: those linked to a task."""
    rows = session.execute(
        text("SELECT DISTINCT u.id, u.name FROM units u JOIN project_units pu ON pu.unit_id = u.id ORDER BY u.name")
    )
    return [Unit(r.id, r.name) for r in rows]


NO_UNIT = (
    "您的账户未归属任何单位，不能下载或上传月报表；请管理员用 `xiangmap units assign-user` 指定 / "
    "your account belongs to no unit, so it has no monthly sheet; an admin assigns one (`xiangmap units assign-user`)"
)


def sheet_unit(session: Session, user: str, role: str | None, unit_id: int | None) -> Unit:
    """The unit whose sheet the account may have: an editor their own, a coordinator or an admin any."""
    if role in ALL_TASKS_ROLES:
        if unit_id is None:
            raise Problem(400, "请选择单位 / unit: choose the unit whose sheet you want", parameter="unit")
        return unit(session, unit_id)
    own = account_unit(session, user)
    if own is None:
        raise Problem(403, NO_UNIT, parameter="unit")
    if unit_id is not None and unit_id != own.id:
        other = unit(session, unit_id)
        raise Problem(
            403,
            f"编辑只能下载本单位（{own.name}）的月报表，不能下载 {other.name} 的 / "
            f"an editor has their own unit's sheet only ({own.name}), not {other.name}'s",
            parameter="unit",
        )
    return own


def unit_tasks(session: Session, task_ids: list[int], period: date) -> list[dict[str, Any]]:
    """The tasks (of a plan year up to the period's), in the plan's order, with the latest report before
    ``period`` (上月) and the month's own report when there is one."""
    rows = session.execute(text(TASKS_SQL), {"ids": task_ids, "period": period, "year": period.year}).mappings()
    return [dict(r) for r in rows]


def existing_tasks(session: Session, task_ids: list[int]) -> dict[int, tuple[str | None, str]]:
    """Which of these ids are tasks, with their number (序号) and title."""
    rows = session.execute(text("SELECT id, number, title FROM projects WHERE id = ANY(:ids)"), {"ids": task_ids})
    return {r.id: (r.number, r.title) for r in rows}
