"""GET /tasks/{id} (the task page), GET/POST /tasks/{id}/report (the monthly report form), the task map's
GeoJSON and the evidence downloads: parse, authorise, shape; the work is in service.tasks.usecases."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.dependencies import get_session
from service.models.plans import BEHIND_CATEGORIES
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings
from service.tasks import usecases
from service.tasks.usecases import FORM, ReportForm, Upload
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False, tags=["web"])

TaskId = Annotated[int, Path(ge=1, le=2_147_483_647, description="task (project) id")]
FileId = Annotated[int, Path(ge=1, le=9_223_372_036_854_775_807, description="evidence file id")]
Text = Annotated[str, Form(max_length=8000)]
STATUSES = ("推进中", "已完成", "滞后", "暂停", "未启动")
EVIDENCE_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
BUILT_ACCEPT = ".geojson,.json,.kml,.gpx,.zip"


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request,
    task_id: TaskId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    page = usecases.task_page(session, task_id, principal.name, principal.role)
    return render(request, "tasks/page.html", page)


@router.get("/tasks/{task_id}/map.geojson")
def task_map(
    task_id: TaskId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    """The planned geometry and the latest built part, for the page's map."""
    return JSONResponse(usecases.map_features(session, task_id), media_type="application/geo+json")


def _form_page(request: Request, session: Session, task_id: int, form: ReportForm, status: int = 200) -> HTMLResponse:
    context: dict[str, Any] = usecases.task_summary(session, task_id) | {
        "form": form,
        "errors": form.errors,
        "form_errors": form.errors.get(FORM, []),
        "statuses": STATUSES,
        "behind_categories": BEHIND_CATEGORIES,
        "evidence_accept": EVIDENCE_ACCEPT,
        "built_accept": BUILT_ACCEPT,
    }
    return render(request, "tasks/report.html", context, status=status)


def _refused(request: Request, task: dict[str, Any], reason: str) -> HTMLResponse:
    return render(request, "tasks/refused.html", {"task": task, "reason": reason}, status=403)


@router.get("/tasks/{task_id}/report", response_class=HTMLResponse)
def report_form(
    request: Request,
    task_id: TaskId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    refusal = usecases.report_refusal(session, principal.name, principal.role, task_id)
    if refusal:
        return _refused(request, usecases.task_summary(session, task_id)["task"], refusal)
    return _form_page(request, session, task_id, usecases.form_defaults(session, task_id))


def _upload(part: UploadFile | None, limit_mb: int) -> Upload | None:
    """The part's name and bytes, read up to one byte past the limit (the use case names a file too large)."""
    if part is None or not part.filename:
        return None  # the browser sends an empty part for a file input left empty
    return Upload(part.filename, part.file.read(limit_mb * 1024 * 1024 + 1))


@router.post("/tasks/{task_id}/report", response_class=HTMLResponse)
def submit_report(
    request: Request,
    task_id: TaskId,
    period: Text = "",
    status: Text = "",
    percent: Text = "",
    investment_wan: Text = "",
    note: Text = "",
    behind_category: Text = "",
    behind_reason: Text = "",
    done_geom: Annotated[str, Form(max_length=5_000_000)] = "",
    done_file: Annotated[UploadFile | None, File()] = None,
    evidence: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    refusal = usecases.refuse_report(session, task_id, principal.name, principal.role)  # audited
    if refusal:
        return _refused(request, usecases.task_summary(session, task_id)["task"], refusal)
    form = ReportForm.from_fields(
        {
            "period": period,
            "status": status,
            "percent": percent,
            "investment_wan": investment_wan,
            "note": note,
            "behind_category": behind_category,
            "behind_reason": behind_reason,
            "done_geom": done_geom,
        }
    )
    settings = get_settings()
    files = [u for u in (_upload(p, settings.max_evidence_mb) for p in evidence or []) if u is not None]
    built = _upload(done_file, settings.max_upload_mb)
    outcome = usecases.submit_report(session, task_id, form, principal.name, principal.role, built=built, files=files)
    if outcome.saved is None:
        return _form_page(request, session, task_id, outcome.form, outcome.status)
    response = RedirectResponse(f"/tasks/{task_id}#reports", status_code=303)
    saved_files = f"，{len(outcome.evidence_ids)} 个佐证文件" if outcome.evidence_ids else ""
    flash.add(request, response, f"已保存 {outcome.saved['period'][:7]} 的进度报告{saved_files}", "success")
    return response


@router.get("/tasks/{task_id}/evidence/{file_id}")
def evidence_file(
    task_id: TaskId,
    file_id: FileId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """The stored file as sent, for signed-in users only; always a download, never shown in the page."""
    found = usecases.evidence_file(session, task_id, file_id)
    utf8 = quote(found["filename"], safe="")
    disposition = f"attachment; filename=\"{found['ascii_name']}\"; filename*=UTF-8''{utf8}"
    return Response(
        found["content"],
        media_type=found["media_type"],
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
