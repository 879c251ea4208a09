"""Plan uploads: what ``/plans/upload`` (the pages) and ``/plans/uploads`` (the API) call.

``preview_upload`` reads the file, settles the plan's answers, compares every task with the register and
checks every unit string, then keeps the file in ``staged_uploads`` (decision 0176) for the commit: nothing
of the plan is written.  ``commit_upload`` reads exactly the staged bytes again, refuses when any problem
remains (the register may have changed since the preview), and writes the plan, its tasks and their unit
links through the projects use case, one audit entry and the upload's committed mark in one transaction.

Who uploads (decision 0183): a coordinator (the 两型办) or an admin any plan; an editor their own unit's
plan (a district's or a department's 工作推进方案): a new one, owned by their unit (``plans.owner_unit_id``),
or one their unit already owns, never a plan of the 两型办 or of another unit.  The role itself (editor and
up) is the routes' check; the unit's part is here, since it depends on the plan the answers name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.common import audit, staged_uploads
from service.errors import Problem
from service.geocoding import usecases as geocoding
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
from service.plan_uploads.table import Issue, NoHeader, Task, read_sheet
from service.projects import usecases as projects
from service.units import usecases as units

KIND = "plan"
ALL_PLANS_ROLES = ("admin", "coordinator")


@dataclass(frozen=True)
class Uploader:
    """Who uploads: a planner of the 两型办 (every plan), or an editor of ``unit_name`` (its own plans)."""

    name: str
    all_plans: bool
    unit_id: int | None = None
    unit_name: str | None = None
    unit_city: str | None = None
    scope: frozenset[int] = frozenset()  # the unit, those under it, those it took over


def uploader(session: Session, actor: str, role: str | None) -> Uploader:
    """The account as an uploader; an editor who belongs to no unit is refused (403) with the reason."""
    if role in ALL_PLANS_ROLES:
        return Uploader(actor, True)
    unit = units.unit_of_user(session, actor)
    if unit is None:
        raise Problem(
            403,
            "你的账号未归属任何单位，不能导入本单位的计划；请管理员用 `xiangmap units assign-user` 指定单位，"
            "或请两型办导入 / your account belongs to no unit, so it may not upload a plan of its own: an admin "
            "assigns one (`xiangmap units assign-user`), or the 两型办 uploads it",
        )
    return Uploader(
        actor, False, unit["id"], unit["name"], unit["city"], frozenset(units.scope_unit_ids(session, unit["id"]))
    )


@dataclass(frozen=True)
class Committed:
    plan_id: str
    title: str
    created: int
    updated: int
    unchanged: int
    units: str
    located: str = ""  # the geocoding run's summary, or why it did not run

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "units": self.units,
            "located": self.located,
        }


def preview_upload(
    session: Session, actor: str, filename: str, content: bytes, form: dict[str, Any], *, role: str | None
) -> Preview:
    """Read and check the file, stage it for the commit, and say what the commit would do (nothing else written).

    A file that cannot be read at all is refused with a :class:`Problem` (413, 415 or 422) and not staged;
    an editor of no unit with 403.
    """
    preview = _preview(session, uploader(session, actor, role), filename, content, form)
    staged = staged_uploads.stage(session, KIND, actor, filename, content, preview.answers.as_params())
    session.commit()
    preview.upload_id, preview.sha256 = staged.id, staged.sha256
    return preview


def repreview_upload(
    session: Session, actor: str, upload_id: str, form: dict[str, Any], *, role: str | None
) -> Preview:
    """The staged file again with other answers (year, city, id, title): staged anew, the old one left to expire."""
    staged = staged_uploads.fetch(session, upload_id, KIND, actor)
    if staged.committed_at is not None:
        raise Problem(
            409, "这个文件已经提交，请重新选择文件 / this upload was already committed: upload the file again"
        )
    return preview_upload(session, actor, staged.filename, staged.content, form, role=role)


def staged_preview(session: Session, actor: str, upload_id: str, *, role: str | None) -> Preview:
    """The preview of a staged upload as it would commit now (read-only)."""
    staged = staged_uploads.fetch(session, upload_id, KIND, actor)
    preview = _preview(session, uploader(session, actor, role), staged.filename, staged.content, staged.params)
    preview.upload_id, preview.sha256 = staged.id, staged.sha256
    return preview


def commit_upload(
    session: Session, actor: str, upload_id: str, sha256: str | None = None, *, role: str | None
) -> Committed:
    """Write the staged plan all or nothing: 409 when already committed or not the previewed file, 422 with
    every problem when it no longer checks out (an editor's plan taken over meanwhile included)."""
    who = uploader(session, actor, role)
    staged = staged_uploads.fetch(session, upload_id, KIND, actor, for_commit=True)
    if sha256 and sha256 != staged.sha256:
        raise Problem(409, "文件与预览时不一致，请重新上传 / not the file that was previewed: upload it again")
    preview = _preview(session, who, staged.filename, staged.content, staged.params)
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
    owner = None if who.all_plans else who.unit_id  # a new plan's; a stored plan keeps its owner
    counts, linked = projects.store_plan(
        session, answers.plan_id, answers.title, answers.year, answers.city, records, owner_unit_id=owner
    )
    result = Committed(answers.plan_id, answers.title, counts.inserted, counts.updated, counts.unchanged, str(linked))
    audit.record(
        session,
        actor,
        "plans.upload",
        "plan",
        answers.plan_id,
        None
        if before is None
        else {"title": before.title, "year": before.year, "city": before.city, "owner_unit_id": before.owner_unit_id},
        {
            "title": answers.title,
            "year": answers.year,
            "city": answers.city,
            "owner_unit_id": owner if before is None else before.owner_unit_id,
            "file": staged.filename,
            "sha256": staged.sha256,
            "upload": staged.id,
            "result": str(counts),
            "units": str(linked),
        },
    )
    staged_uploads.mark_committed(session, staged.id)
    session.commit()
    return _geocoded(session, actor, result)


def _geocoded(session: Session, actor: str, result: Committed) -> Committed:
    """Place the plan's new tasks on the map, as ``xiangmap plans import --geocode`` does, once the upload is
    committed: the geocoding run commits on its own (with its audit entry), so a failure there leaves the
    upload in place and says so (``xiangmap geocode --plan`` finishes it).  Manual locations are kept."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        summary = geocoding.geocode_projects(session, plan=result.plan_id, actor=actor)
    except SQLAlchemyError as exc:
        session.rollback()
        return replace(
            result, located=f"定位未完成（{type(exc).__name__}）：请运行 xiangmap geocode --plan {result.plan_id}"
        )
    return replace(result, located=f"{summary.projects} 项任务已自动定位 / {summary}")


def _preview(session: Session, who: Uploader, filename: str, content: bytes, form: dict[str, Any]) -> Preview:
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
    # an editor's re-upload updates the plan of this title their unit owns, never the 两型办's of that title
    owned_by = None if who.all_plans else who.unit_id
    answers, issues = settle_answers(
        form,
        sheet,
        plan_for_title=projects.plan_for_title(session, title, owned_by) if title else None,
        is_taken=lambda plan_id: projects.has_plan(session, plan_id),
        default_city=who.unit_city,
    )
    stored = projects.get_plan_snapshot(session, answers.plan_id)
    owner_id = stored.owner_unit_id if stored is not None else (None if who.all_plans else who.unit_id)
    owner = _unit_name(session, owner_id)
    if not who.all_plans and stored is not None and stored.owner_unit_id != who.unit_id:
        issues.append(_not_yours(answers.plan_id, who, owner))
    on = (stored.published if stored and stored.published else None) or date(answers.year or 2000, 1, 1)
    resolved: dict[str, dict[str, Any]] = {}
    if answers.city is not None and answers.year is not None:
        resolved = units.resolve_names(session, unit_names(sheet), answers.city, on)
        issues += unit_issues(sheet, resolved)
    issues += sheet.issues
    plan_status, changes = plan_changes(
        answers, None if stored is None else {"title": stored.title, "year": stored.year, "city": stored.city}
    )
    tasks: list[TaskPreview] = []
    for task in sheet.tasks:
        key = task_key(answers.plan_id, task)
        old = stored.tasks.get(key) if stored else None
        status, task_changes = compare(task_values(task, answers.year), None if old is None else _stored_values(old))
        theirs = None if who.all_plans else _names_scope(task, resolved, who.scope)
        tasks.append(TaskPreview(task, key, status, task_changes, theirs))
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
    outside = [t for t in tasks if t.theirs is False]
    if outside:
        notes.append(_outside_note(outside, who))
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
        owner=owner,
        uploader_unit=who.unit_name,
    )


def _unit_name(session: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    unit = units.get_unit(session, unit_id)
    return str(unit["name"]) if unit else f"#{unit_id}"


def _not_yours(plan_id: str, who: Uploader, owner: str | None) -> Issue:
    whose_zh = "两型办的计划" if owner is None else f"{owner}的计划"
    whose_en = "a plan of the 两型办" if owner is None else f"a plan of {owner}"
    return Issue(
        None,
        "计划编号",
        f"计划“{plan_id}”是{whose_zh}，你（{who.unit_name}）只能新建本单位的计划或更新本单位已有的计划："
        "请换一个计划编号（留空则自动生成），或请两型办导入",
        f"plan {plan_id!r} is {whose_en}: an editor of {who.unit_name} may create a plan of their unit or update "
        "one their unit owns; choose another plan id (blank: one is suggested), or ask the 两型办",
    )


def _names_scope(task: Task, resolved: dict[str, dict[str, Any]], scope: frozenset[int]) -> bool:
    """Does one of the task's units (a collective name through its members) fall in the editor's scope?"""
    for name in (*task.lead_units, *task.responsible_units):
        found = resolved.get(name)
        if found and any(u["id"] in scope for u in found["units"]):
            return True
    return False


def _outside_note(outside: list[TaskPreview], who: Uploader) -> tuple[str, str]:
    rows = "、".join(str(t.task.row) for t in outside)
    n = len(outside)
    return (
        f"有 {n} 项任务的牵头单位和责任单位都不含{who.unit_name}及其下属单位（第 {rows} 行）：提交后它们照样写入计划，"
        "但不会出现在你的台账里（台账默认只显示本单位牵头或负责的任务）；两型办和这些任务的单位能看到",
        f"{n} task(s) name none of {who.unit_name}'s units as lead or responsible (rows {rows}): they are committed "
        "with the plan but are not in your own ledger view, which shows your unit's tasks; the 两型办 and their "
        "units see them",
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
