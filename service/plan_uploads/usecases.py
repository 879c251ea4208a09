"""Plan uploads: what ``/plans/upload`` (the pages) and ``/plans/uploads`` (the API) call.

``preview_upload`` reads the file, settles the plan's answers, compares every task with the register and
checks every unit string, then keeps the file in ``staged_uploads`` (decision 0176) for the commit: nothing
of the plan is written.  ``commit_upload`` reads exactly the staged bytes again, refuses when any problem
remains (the register may have changed since the preview), and writes the plan, its tasks and their unit
links through the projects use case, one audit entry and the upload's committed mark in one transaction.
Who may do this (coordinator, admin) is the routes' check, as for every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.common import audit, staged_uploads
from service.errors import Problem
from service.plan_uploads.preview import (
    Answers,
    Preview,
    TaskPreview,
    compare,
    plan_changes,
    settle_answers,
    task_key,
    task_values,
    unit_issues,
    unit_names,
)
from service.plan_uploads.sheet import SheetRefused, read_grid
from service.plan_uploads.table import NoHeader, read_sheet
from service.projects import usecases as projects
from service.units import usecases as units

KIND = "plan"


@dataclass(frozen=True)
class Committed:
    plan_id: str
    title: str
    created: int
    updated: int
    unchanged: int
    units: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "units": self.units,
        }


def preview_upload(session: Session, actor: str, filename: str, content: bytes, form: dict[str, Any]) -> Preview:
    """Read and check the file, stage it for the commit, and say what the commit would do (nothing else written).

    A file that cannot be read at all is refused with a :class:`Problem` (413, 415 or 422) and not staged.
    """
    preview = _preview(session, filename, content, form)
    staged = staged_uploads.stage(session, KIND, actor, filename, content, preview.answers.as_params())
    session.commit()
    preview.upload_id, preview.sha256 = staged.id, staged.sha256
    return preview


def repreview_upload(session: Session, actor: str, upload_id: str, form: dict[str, Any]) -> Preview:
    """The staged file again with other answers (year, city, id, title): staged anew, the old one left to expire."""
    staged = staged_uploads.fetch(session, upload_id, KIND, actor)
    if staged.committed_at is not None:
        raise Problem(
            409, "这个文件已经提交，请重新选择文件 / this upload was already committed: upload the file again"
        )
    return preview_upload(session, actor, staged.filename, staged.content, form)


def staged_preview(session: Session, actor: str, upload_id: str) -> Preview:
    """The preview of a staged upload as it would commit now (read-only)."""
    staged = staged_uploads.fetch(session, upload_id, KIND, actor)
    preview = _preview(session, staged.filename, staged.content, staged.params)
    preview.upload_id, preview.sha256 = staged.id, staged.sha256
    return preview


def commit_upload(session: Session, actor: str, upload_id: str, sha256: str | None = None) -> Committed:
    """Write the staged plan all or nothing: 409 when already committed or not the previewed file, 422 with
    every problem when it no longer checks out."""
    staged = staged_uploads.fetch(session, upload_id, KIND, actor, for_commit=True)
    if sha256 and sha256 != staged.sha256:
        raise Problem(409, "文件与预览时不一致，请重新上传 / not the file that was previewed: upload it again")
    preview = _preview(session, staged.filename, staged.content, staged.params)
    if preview.issues:
        n = len(preview.issues)
        raise Problem(
            422,
            f"有 {n} 个问题，未提交任何内容 / {n} problem(s): nothing was committed",
            problems=[i.as_dict() for i in preview.issues],
        )
    answers = preview.answers
    assert answers.year is not None  # settle_answers reports a missing year as a problem
    before = projects.get_plan_snapshot(session, answers.plan_id)
    records = [_record(answers, t) for t in preview.tasks]
    counts, linked = projects.store_plan(session, answers.plan_id, answers.title, answers.year, answers.city, records)
    result = Committed(answers.plan_id, answers.title, counts.inserted, counts.updated, counts.unchanged, str(linked))
    audit.record(
        session,
        actor,
        "plans.upload",
        "plan",
        answers.plan_id,
        None if before is None else {"title": before.title, "year": before.year, "city": before.city},
        {
            "title": answers.title,
            "year": answers.year,
            "city": answers.city,
            "file": staged.filename,
            "sha256": staged.sha256,
            "upload": staged.id,
            "result": str(counts),
            "units": str(linked),
        },
    )
    staged_uploads.mark_committed(session, staged.id)
    session.commit()
    return result


def _preview(session: Session, filename: str, content: bytes, form: dict[str, Any]) -> Preview:
    try:
        grid = read_grid(filename, content)
    except SheetRefused as exc:
        raise Problem(exc.status, f"{exc.zh} / {exc.en}", parameter="file", reason_zh=exc.zh) from None
    year = _year(form.get("year"))
    try:
        sheet = read_sheet(grid, year)
    except NoHeader:
        raise Problem(422, f"{NoHeader.zh} / {NoHeader.en}", parameter="file", reason_zh=NoHeader.zh) from None
    title = str(form.get("title") or "").strip() or sheet.title.strip()
    answers, issues = settle_answers(
        form,
        sheet,
        plan_for_title=projects.plan_for_title(session, title) if title else None,
        is_taken=lambda plan_id: projects.has_plan(session, plan_id),
    )
    stored = projects.get_plan_snapshot(session, answers.plan_id)
    on = (stored.published if stored and stored.published else None) or date(answers.year or 2000, 1, 1)
    if answers.city is not None and answers.year is not None:
        issues += unit_issues(sheet, units.resolve_names(session, unit_names(sheet), answers.city, on))
    issues += sheet.issues
    plan_status, changes = plan_changes(
        answers, None if stored is None else {"title": stored.title, "year": stored.year, "city": stored.city}
    )
    tasks: list[TaskPreview] = []
    for task in sheet.tasks:
        key = task_key(answers.plan_id, task)
        old = stored.tasks.get(key) if stored else None
        status, task_changes = compare(task_values(task, answers.year), None if old is None else _stored_values(old))
        tasks.append(TaskPreview(task, key, status, task_changes))
    named = {t.key for t in tasks}
    kept = sum(1 for key in stored.tasks if key not in named) if stored else 0
    notes = list(sheet.notes)
    if sheet.ignored:
        columns = "、".join(sheet.ignored)
        notes.append((f"未读取的列：{columns}", f"columns not read: {columns}"))
    if kept:
        notes.append(
            (
                f"计划中另有 {kept} 项任务不在这个文件里：保留不变",
                f"{kept} task(s) of the plan are not in this file: they are left as they are",
            )
        )
    issues.sort(key=lambda i: (i.row is not None, i.row or 0))
    return Preview(
        filename=filename,
        kind=grid.kind,
        sheet_name=grid.sheet,
        answers=answers,
        plan_status=plan_status,
        plan_changes=changes,
        tasks=tasks,
        issues=issues,
        notes=notes,
        kept=kept,
        sheet_title=sheet.title,
    )


def _year(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def _stored_values(record: projects.ProjectRecord) -> dict[str, Any]:
    return {
        "section": record.section,
        "number": record.number,
        "title": record.title,
        "task_text": record.task_text,
        "category": record.category,
        "lead_units": record.lead_units,
        "responsible_units": record.responsible_units,
        "targets": record.targets,
        "deadline": record.deadline,
        "deadline_text": record.deadline_text or "",
        "year": record.year,
    }


def _record(answers: Answers, preview: TaskPreview) -> projects.ProjectRecord:
    task = preview.task
    return projects.ProjectRecord(
        plan=answers.plan_id,
        key=preview.key,
        section=task.section,
        number=task.number,
        title=task.title,
        task_text=task.task_text,
        category=task.category,
        lead_units=task.lead_units,
        responsible_units=task.responsible_units,
        targets=task.targets,
        deadline=task.deadline,
        deadline_text=task.deadline_text or None,
        year=answers.year,
        notes=task.notes,
    )
