"""The monthly sheet's use cases: download a unit's sheet, upload it for a preview, commit it.

The upload is checked and kept in ``staged_uploads`` (decision 0176); the preview and the commit read
the same staged bytes through the same function, so the commit records exactly what the preview showed
(and recomputes it under the row lock: a report sent in between is seen).  Every report goes through
``service.progress`` (``check_row``: the import's row checks and ``ReportIn``; ``rule_problems``: the
reporting rules; ``record_reports``: the append with its audit entry), never a second copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.common import audit, staged_uploads
from service.errors import Problem
from service.monthly_sheets import reading, tasks, workbook
from service.monthly_sheets.columns import TASK_ID, TITLE_ROW
from service.monthly_sheets.preview import Preview, RowOutcome, SheetProblem, problem
from service.progress import usecases as progress
from service.units import usecases as units

KIND = "monthly-sheet"
MEDIA = reading.XLSX_MEDIA

__all__ = ["KIND", "MEDIA", "CommitResult", "Preview", "SheetProblem", "commit", "download", "page_choices", "upload"]


@dataclass(frozen=True)
class SheetFile:
    filename: str  # ASCII
    filename_zh: str
    content: bytes


@dataclass(frozen=True)
class CommitResult:
    upload_id: str
    recorded: int
    unchanged: int
    skipped: int
    period: str | None
    unit_id: int | None
    report_ids: list[int]

    def as_json(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "recorded": self.recorded,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "period": self.period,
            "report_ids": self.report_ids,
        }


def parse_month(value: str | None, *, default_today: bool = True) -> date:
    """``YYYY-MM`` (or the other ways a month is written) as its first day; 400 naming ``period``."""
    if not (value or "").strip() and default_today:
        return date.today().replace(day=1)
    try:
        return progress.parse_period(value)
    except ValueError as exc:
        raise Problem(400, str(exc), parameter="period") from None


def page_choices(session: Session, user: str, role: str | None) -> dict[str, Any]:
    """What the page offers: the editor's unit, or every unit with tasks for a coordinator / admin."""
    if role in tasks.ALL_TASKS_ROLES:
        return {"own_unit": tasks.account_unit(session, user), "units": tasks.units_with_tasks(session), "any": True}
    return {"own_unit": tasks.account_unit(session, user), "units": [], "any": False}


def download(session: Session, user: str, role: str | None, unit_id: int | None, period_text: str | None) -> SheetFile:
    """The unit's sheet for the month: the account may have this unit's (tasks.sheet_unit), the month is no
    later than this one.  Read-only: no audit entry."""
    period = parse_month(period_text)
    future = progress.period_problems(period)
    if future:
        raise Problem(400, future[0].message, parameter="period")
    unit = tasks.sheet_unit(session, user, role, unit_id)
    task_ids = units.task_ids_for_unit(session, unit.id, include_children=True)
    rows = tasks.unit_tasks(session, task_ids, period)
    content = workbook.build(unit.name, period, rows)
    month = period.strftime("%Y-%m")
    return SheetFile(f"monthly-sheet-{unit.id}-{month}.xlsx", f"月报-{unit.name}-{month}.xlsx", content)


def _allowed(session: Session, user: str, role: str | None) -> tuple[set[int] | None, tasks.Unit | None]:
    """The task ids the account may report on (None: every task) and its unit."""
    own = tasks.account_unit(session, user)
    if role in tasks.ALL_TASKS_ROLES:
        return None, own
    if own is None:
        raise Problem(403, tasks.NO_UNIT, parameter="file")
    return set(units.task_ids_for_unit(session, own.id, include_children=True)), own


def _report_dict(report: progress.ReportIn) -> dict[str, Any]:
    return {
        "period": report.period.strftime("%Y-%m"),
        "status": report.status,
        "percent": report.percent,
        "investment_wan": report.investment_wan,
        "note": report.note,
        "behind_reason": report.behind_reason,
        "behind_category": report.behind_category,
    }


def build_preview(
    session: Session,
    staged_id: str,
    filename: str,
    sha256: str,
    content: bytes,
    user: str,
    role: str | None,
    sheet: reading.SheetContent | None = None,
) -> tuple[Preview, dict[int, progress.ReportIn]]:
    """What the sheet would do, and the reports it would record (by row); ``sheet``: already read."""
    sheet = sheet or reading.read(filename, content, progress.xlsx_text)
    preview = Preview(staged_id, filename, sha256, sheet.unit_text, None)
    try:
        preview.period = progress.parse_period(sheet.period_text)
    except ValueError as exc:
        reason = str(exc) if sheet.period_text else "标题行没有填写月份 / the title row names no month (月份)"
        preview.sheet_problems.append(problem(TITLE_ROW, "period", reason))
    if preview.period is not None:
        preview.sheet_problems += [
            problem(TITLE_ROW, p.field, p.message) for p in progress.period_problems(preview.period)
        ]
    allowed, own = _allowed(session, user, role)
    ids = [int(r.task_id) for r in sheet.rows if r.task_id.isdigit() and len(r.task_id) < 10]
    existing = tasks.existing_tasks(session, ids)
    seen: dict[int, int] = {}
    valid: dict[int, progress.ReportIn] = {}
    month = (preview.period or date.today().replace(day=1)).isoformat()
    for row in sheet.rows:
        outcome = RowOutcome(row.row, None, None, None, "problem")
        filled = any(row.values.values())
        task_id = int(row.task_id) if row.task_id.isdigit() and len(row.task_id) < 10 else None
        if task_id is None:
            reason = (
                f"任务编号“{row.task_id}”不是数字 / task id {row.task_id!r} is not a number"
                if row.task_id
                else "任务编号为空：请不要删改灰色的任务列 / the task id is empty: keep the task columns as downloaded"
            )
            outcome.problems.append(problem(row.row, TASK_ID, reason))
        elif task_id not in existing:
            outcome.problems.append(problem(row.row, TASK_ID, f"没有编号为 {task_id} 的任务 / no task {task_id}"))
        else:
            outcome.task_id = task_id
            outcome.number, outcome.title = existing[task_id]
            if allowed is not None and task_id not in allowed:
                unit_name = own.name if own else ""
                outcome.problems.append(
                    problem(
                        row.row,
                        TASK_ID,
                        f"任务 {task_id} 不是本单位（{unit_name}）的任务，不能填报 / "
                        f"task {task_id} is not a task of your unit ({unit_name}); you may not report on it",
                    )
                )
            elif task_id in seen:
                outcome.problems.append(
                    problem(
                        row.row,
                        TASK_ID,
                        f"与第 {seen[task_id]} 行是同一任务 / the same task as row {seen[task_id]}",
                    )
                )
            seen.setdefault(task_id, row.row)
        if not filled:
            outcome.action = "skipped"  # nothing to record from it, whatever its task column says
            outcome.problems = []
            preview.rows.append(outcome)
            continue
        report, errors = progress.check_row({"period": month, **row.values}, row.row)
        outcome.problems += [problem(row.row, e.column, e.reason) for e in errors]
        if report is not None:
            outcome.report = _report_dict(report)
        if report is None or outcome.task_id is None or outcome.problems:
            preview.rows.append(outcome)
            continue
        if not preview.sheet_problems and progress.same_as_stored(session, outcome.task_id, report):
            outcome.action = "unchanged"  # what the month's report already says: nothing to record or check
        elif not preview.sheet_problems:
            for broken in progress.rule_problems(session, outcome.task_id, report):
                outcome.problems.append(problem(row.row, broken.field, broken.message))
            if not outcome.problems:
                outcome.action = "record"
                valid[row.row] = report
        preview.rows.append(outcome)
    return preview, valid


def upload(
    session: Session, user: str, role: str | None, filename: str, content: bytes, unit_id: int | None = None
) -> Preview:
    """Check the file, keep it for the commit, and answer its preview (nothing is recorded yet)."""
    sheet = reading.read(filename, content, progress.xlsx_text)  # a file that cannot be read is not kept
    _allowed(session, user, role)  # an account without a unit is told before anything is kept
    staged = staged_uploads.stage(session, KIND, user, filename, content, {"unit": unit_id})
    session.commit()
    preview, _ = build_preview(session, staged.id, staged.filename, staged.sha256, content, user, role, sheet)
    session.rollback()  # the preview only read
    return preview


def preview_of(session: Session, upload_id: str, user: str, role: str | None) -> Preview:
    """The preview of a staged sheet again (its id from the preview page or the API)."""
    staged = staged_uploads.fetch(session, upload_id, KIND, user)
    if staged.committed_at is not None:
        raise Problem(409, "这个文件已提交 / this upload was already committed", parameter="upload")
    preview, _ = build_preview(session, staged.id, staged.filename, staged.sha256, staged.content, user, role)
    session.rollback()
    return preview


def commit(session: Session, upload_id: str, user: str, role: str | None) -> CommitResult:
    """Record every report of the staged sheet in one transaction, or nothing: the preview is recomputed
    under the staged row's lock and must have no problem.  One audit entry per report (progress) and one
    for the sheet; the staged file is marked committed with them."""
    staged = staged_uploads.fetch(session, upload_id, KIND, user, for_commit=True)
    preview, valid = build_preview(session, staged.id, staged.filename, staged.sha256, staged.content, user, role)
    found = preview.problems
    if found:
        session.rollback()
        first = found[0]
        raise Problem(
            400,
            f"这个文件有 {len(found)} 处问题（第 {first.row} 行「{first.column}」：{first.zh}），不能提交；"
            f"请修改后重新上传 / the sheet has {len(found)} problem(s) (row {first.row}, {first.column_en}: "
            f"{first.en}); fix them and upload it again",
            parameter="upload",
            problems=[p.as_json() for p in found],
        )
    items = [(r.task_id, valid[r.row]) for r in preview.rows if r.action == "record" and r.task_id is not None]
    saved = progress.record_reports(session, items, user)
    staged_uploads.mark_committed(session, staged.id)
    result = CommitResult(
        staged.id,
        len(saved),
        preview.count("unchanged"),
        preview.count("skipped"),
        preview.period.strftime("%Y-%m") if preview.period else None,
        staged.params.get("unit"),
        [int(s["id"]) for s in saved],
    )
    audit.record(
        session,
        user,
        "monthly_sheet.commit",
        "staged_upload",
        staged.id,
        None,
        {"filename": staged.filename, "sha256": staged.sha256, "unit": preview.unit} | result.as_json(),
    )
    session.commit()
    return result
