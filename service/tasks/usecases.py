"""Task use cases: the task page, who may report on a task, and a report sent from the form with its files.

A report from the form is saved through ``service.progress.usecases.add_report`` (the unit check, the
progress rules, the done geometry's checks, its audit entry) and its evidence rows are written after it
in the same database transaction: the caller's session holds the transaction, and ``add_report`` runs
in a session joined to it whose commit only releases a savepoint (decision 0190).  So a refused report
stores no file, and a file that cannot be stored takes the report back with it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import audit, derived_status
from service.errors import Problem
from service.progress import usecases as progress
from service.settings import get_settings
from service.tasks import details, evidence
from service.tasks.built_file import BuiltFileError, geometry_from_file
from service.tasks.evidence import Evidence, EvidenceError
from service.tasks.form import FORM, ReportForm
from service.units import usecases as units

REPORTING_ROLES = ("editor", "coordinator", "admin")
VIEWER_REFUSAL = (
    "无权填报：您的账户角色只能查看，不能填报进度；填报需要编辑（本单位任务）或统筹账户 / "
    "your account may view tasks but not report on them; reporting needs an editor (their unit's tasks) "
    "or a coordinator account"
)

__all__ = [
    "FORM",
    "ReportForm",
    "SubmitOutcome",
    "Upload",
    "evidence_file",
    "form_defaults",
    "map_features",
    "refuse_report",
    "report_refusal",
    "submit_report",
    "task_page",
    "task_summary",
]


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it: its name and bytes."""

    filename: str
    content: bytes


@dataclass
class SubmitOutcome:
    """A saved report (``saved``), or the form again with its errors and the status to answer."""

    form: ReportForm
    status: int = 201
    saved: dict[str, Any] | None = None
    evidence_ids: list[int] = field(default_factory=list)


def report_refusal(session: Session, actor: str, role: str | None, project_id: int) -> str | None:
    """Why this account may not report on the task (Chinese / English), None when it may; nothing written."""
    if role not in REPORTING_ROLES:
        return VIEWER_REFUSAL
    return units.report_refusal(session, actor, role, project_id)


def refuse_report(session: Session, project_id: int, actor: str, role: str | None) -> str | None:
    """Before a sent report is read: None when the account may report, else why not, with the refusal audited."""
    details.task(session, project_id)
    reason = report_refusal(session, actor, role, project_id)
    if reason is not None:
        audit.record(session, actor, "progress.refused", "project", project_id, None, {"reason": reason})
        session.commit()
    return reason


def derived_state(session: Session, project_id: int, as_of: date | None = None) -> dict[str, Any]:
    """The task's one derived status, percent, overdue and delay reason at ``as_of`` (default today): the
    progress area's state query, the row the ledger shows (decision 0170)."""
    sql, params = progress.state_query(
        as_of or date.today(),
        get_settings().delay_threshold_pct,
        progress.ProjectFilter(project_id=project_id),
        spatial=True,
    )
    row = session.execute(text(sql), params).mappings().first()
    state = dict(row) if row else {}
    state["delay_label"] = derived_status.DELAY_LABELS.get(state.get("delay_reason") or "")
    return state


def task_summary(session: Session, project_id: int) -> dict[str, Any]:
    """The task and its derived state today: the head of the report form."""
    return {"task": details.task(session, project_id), "state": derived_state(session, project_id)}


def task_page(session: Session, project_id: int, actor: str, role: str | None) -> dict[str, Any]:
    """Everything the task page shows (404 when there is no such task)."""
    task = details.task(session, project_id)
    found = progress.project_progress(session, project_id)
    files = evidence.list_files(session, project_id)
    by_report: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f in files:
        by_report[f["report_id"]].append(f)
    reports = [
        r | {"evidence": by_report.get(r["id"], []), "created": datetime.fromisoformat(r["created_at"])}
        for r in found["reports"]
    ]
    return {
        "task": task,
        "units": details.units(session, project_id),
        "state": derived_state(session, project_id),
        "as_of": found["as_of"],
        "reports": reports,
        "evidence": files,
        "refusal": report_refusal(session, actor, role, project_id),
    }


def map_features(session: Session, project_id: int) -> dict[str, Any]:
    details.task(session, project_id)  # 404 for a task that does not exist
    return details.map_features(session, project_id)


def form_defaults(session: Session, project_id: int, today: date | None = None) -> ReportForm:
    """The form as it opens: this month, and the latest report's status, percent and investment."""
    found = progress.project_progress(session, project_id)
    latest = found["reports"][0] if found["reports"] else None
    form = ReportForm(period=(today or date.today()).strftime("%Y-%m"), status="推进中")
    if latest is not None:
        form.status = latest["status"]
        form.percent = f"{latest['percent']:g}"
        form.investment_wan = "" if latest["investment_wan"] is None else f"{latest['investment_wan']:g}"
    return form


def _check_files(form: ReportForm, built: Upload | None, files: list[Upload]) -> tuple[list[Evidence], int]:
    """The evidence checked and the built file read (into ``form.done_geom``); errors on the form."""
    status = 422
    if built is not None:
        try:
            form.done_geom = json.dumps(geometry_from_file(built.filename, built.content))
        except BuiltFileError as exc:
            form.add("done_file", str(exc))
            status = exc.status
    checked: list[Evidence] = []
    try:
        evidence.check_count(len(files))
    except EvidenceError as exc:
        form.add("evidence", str(exc))
        return [], exc.status
    for upload in files:
        try:
            checked.append(evidence.check(upload.filename, upload.content))
        except EvidenceError as exc:
            form.add("evidence", str(exc))
            status = exc.status if status == 422 else status
    return checked, status


def submit_report(
    session: Session,
    project_id: int,
    form: ReportForm,
    actor: str,
    role: str | None,
    *,
    built: Upload | None = None,
    files: list[Upload] | None = None,
) -> SubmitOutcome:
    """Check the form and its files, then save the report and its evidence in one transaction.

    An account that may not report gets a 403 (``add_report`` audits it; the route asks ``refuse_report`` first).
    Errors come back on ``form`` with a 4xx ``status``; nothing is stored then.
    """
    details.task(session, project_id)
    if role not in REPORTING_ROLES:
        raise Problem(403, VIEWER_REFUSAL, parameter="project_id")
    checked, status = _check_files(form, built, files or [])
    body = form.body()
    if form.errors or body is None:
        return SubmitOutcome(form, status)
    try:
        report = progress.ReportIn.model_validate(body)
    except ValidationError as exc:
        form.add_validation_errors(exc.errors())
        return SubmitOutcome(form, 422)
    joined = Session(bind=session.connection(), join_transaction_mode="create_savepoint")
    try:
        try:
            saved = progress.add_report(joined, project_id, report, actor, role=role)
        except Problem as problem:
            joined.rollback()
            session.commit()  # what add_report meant to keep (a refusal's audit entry), nothing else
            form.add_problem(problem, built_from_file=built is not None)
            return SubmitOutcome(form, problem.status)
        ids = evidence.store(joined, project_id, int(saved["id"]), checked, actor)
        if ids:
            audit.record(
                joined,
                actor,
                "evidence.add",
                "progress_report",
                saved["id"],
                None,
                {
                    "project_id": project_id,
                    "files": [
                        {"id": i, "filename": f.filename, "type": f.media_type, "size": f.size, "sha256": f.sha256}
                        for i, f in zip(ids, checked, strict=True)
                    ],
                },
            )
        joined.commit()
    except BaseException:
        joined.rollback()
        session.rollback()
        raise
    finally:
        joined.close()
    session.commit()
    return SubmitOutcome(form, 201, saved, ids)


def evidence_file(session: Session, project_id: int, file_id: int) -> dict[str, Any]:
    """One evidence file with its bytes and a safe ASCII name; 404 when the task has no such file."""
    found = evidence.get_file(session, project_id, file_id)
    if found is None:
        raise Problem(404, f"任务 {project_id} 没有编号为 {file_id} 的佐证材料 / no evidence file {file_id} there")
    return found | {"ascii_name": evidence.ascii_name(found["filename"])}
