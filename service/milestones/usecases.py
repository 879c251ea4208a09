"""Read and replace a task's milestones, each replacement one transaction with its audit entry.

Called alike by the API routes and the CLI.  A replacement swaps the whole set (the audit entry keeps the
old one), so what a planner sees and saves is exactly what counts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import audit
from service.common.concurrency import bump_version
from service.errors import Problem
from service.milestones import backward, checks
from service.milestones.backward import Milestone
from service.models.milestones import MILESTONE_SOURCES


def _task(session: Session, project_id: int) -> dict[str, Any]:
    row = (
        session.execute(
            text(
                "SELECT p.id, p.title, p.deadline, COALESCE(p.year, pl.year) AS year, pl.published"
                " FROM projects p JOIN plans pl ON pl.id = p.plan_id WHERE p.id = :id"
            ),
            {"id": project_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise Problem(404, f"任务 {project_id} 不存在 / task {project_id} does not exist", parameter="id")
    return dict(row)


def stored(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The task's milestones in date order."""
    rows = session.execute(
        text(
            "SELECT name, due, planned_percent::float AS planned_percent, starts_work, source, created_by"
            " FROM task_milestones WHERE project_id = :id ORDER BY due, planned_percent, name"
        ),
        {"id": project_id},
    ).mappings()
    return [dict(r) | {"due": r["due"].isoformat()} for r in rows]


def proposal(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The backward schedule for the task (empty without a deadline or a year to count from)."""
    end = task["deadline"] or (date(task["year"], 12, 31) if task["year"] else None)
    if end is None or task["year"] is None:
        return []
    start = backward.schedule_start(task["year"], task["published"])
    return [
        {"name": m.name, "due": m.due.isoformat(), "planned_percent": m.planned_percent, "starts_work": m.starts_work}
        for m in backward.propose(start, end)
    ]


def milestones(session: Session, project_id: int) -> dict[str, Any]:
    """The task's milestones and the backward schedule offered for it."""
    task = _task(session, project_id)
    return {
        "project_id": project_id,
        "title": task["title"],
        "deadline": task["deadline"].isoformat() if task["deadline"] else None,
        "milestones": stored(session, project_id),
        "backward": proposal(task),
    }


def replace(
    session: Session,
    project_id: int,
    items: list[Milestone],
    actor: str,
    source: str = "browser",
    *,
    commit: bool = True,
) -> dict[str, Any]:
    """Replace the task's milestones with ``items`` (refused whole with 422 when any is wrong)."""
    if source not in MILESTONE_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    task = _task(session, project_id)
    found = checks.problems(items, task["year"])
    if found:
        raise Problem(422, "；".join(found), parameter="milestones")
    before = stored(session, project_id)
    session.execute(text("DELETE FROM task_milestones WHERE project_id = :id"), {"id": project_id})
    for m in items:
        session.execute(
            text(
                "INSERT INTO task_milestones (project_id, name, due, planned_percent, starts_work, source, created_by)"
                " VALUES (:id, :name, :due, :pct, :starts, :source, :actor)"
            ),
            {
                "id": project_id,
                "name": m.name.strip(),
                "due": m.due,
                "pct": m.planned_percent,
                "starts": m.starts_work,
                "source": source,
                "actor": actor,
            },
        )
    bump_version(session, project_id, None)  # the task's ETag moves on, as with a report
    after = stored(session, project_id)
    audit.record(
        session,
        actor,
        "milestones.replace",
        "project",
        project_id,
        {"milestones": before},
        {"milestones": after, "source": source},
    )
    if commit:
        session.commit()
    return milestones(session, project_id)


def accept_backward(session: Session, project_id: int, actor: str) -> dict[str, Any]:
    """Store the backward schedule as the task's milestones."""
    task = _task(session, project_id)
    items = [
        Milestone(m["name"], date.fromisoformat(m["due"]), m["planned_percent"], m["starts_work"])
        for m in proposal(task)
    ]
    if not items:
        raise Problem(422, "任务没有完成时限和年度，无法倒排工期 / no deadline or year to schedule back from")
    return replace(session, project_id, items, actor, source="backward")


class SheetImportRefused(Exception):
    """Nothing was imported; the message lists every problem."""


def import_sheet(session: Session, name: str, data: bytes, actor: str) -> dict[str, int]:
    """Replace the milestones of every task the sheet names (one transaction: one bad row, nothing written)."""
    from service.milestones.sheet import SheetRefused, read_sheet
    from service.progress import usecases as progress

    try:
        found = read_sheet(name, data, progress.xlsx_text)
    except SheetRefused as exc:
        raise SheetImportRefused(str(exc)) from exc
    errors = [str(e) for e in found.errors]
    targets: dict[str, int] = {}
    for ref, rows in found.rows.items():
        kind, value = ref.split(":", 1)
        sql = "SELECT id FROM projects WHERE key = :v" if kind == "key" else "SELECT id FROM projects WHERE id = :v"
        try:
            param: object = value if kind == "key" else int(value)
        except ValueError:
            errors.append(f"row {rows[0]}: project_id {value!r} is not a number")
            continue
        project_id = session.execute(text(sql), {"v": param}).scalar()
        if project_id is None:
            errors.append(f"row {rows[0]}: 没有这个任务 / no task {value!r}")
            continue
        targets[ref] = project_id
        task = _task(session, project_id)
        for problem in checks.problems(found.by_task[ref], task["year"]):
            errors.append(f"rows {', '.join(map(str, rows))} ({value}): {problem}")
    if errors:
        raise SheetImportRefused("\n".join(errors))
    for ref, project_id in targets.items():
        replace(session, project_id, found.by_task[ref], actor, source="sheet", commit=False)
    session.commit()
    return {"tasks": len(targets), "milestones": sum(len(found.by_task[r]) for r in targets)}
