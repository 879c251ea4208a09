"""The office's plan spreadsheet in: pages for the 两型办 planners and the API twin for GIS staff and scripts.

Pages (not in the OpenAPI document): ``GET /plans/upload`` the form, ``POST /plans/upload`` the preview
(422 with every problem, the commit button only when there is none), ``POST /plans/upload/{id}/commit``
(303 to the plan's ledger with a flash message).  API: ``POST /plans/uploads`` (multipart; the JSON
preview, English reasons) and ``POST /plans/uploads/{id}/commit``.  Coordinators and admins upload any plan,
editors their own unit's (decision 0183: the unit's part is the use case's); the work is in
``service.plan_uploads.usecases``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import PROBLEM_JSON, Problem, ProblemDetail
from service.plan_uploads import usecases
from service.plan_uploads.preview import ORIGIN_LABELS, Preview
from service.plan_uploads.table import CITIES
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, tags=["plans"])

ROLE_LABELS = {"viewer": "查看", "editor": "编辑", "inspector": "督察", "gis": "地理信息"}
ACCEPT = ",".join(
    (".xlsx", ".xls", ".csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv")
)


def _planner(principal: Principal) -> None:
    """Coordinators (the 两型办) and admins upload any plan, editors their unit's; anyone else is told why not."""
    if not principal.has("editor"):
        role = ROLE_LABELS.get(principal.role or "", principal.role or "")
        raise Problem(
            403,
            f"导入计划需要“编辑”（本单位的计划）、“统筹”（两型办）或管理员角色，你的账号是“{role}”角色；请联系两型办 / "
            "uploading a plan needs the editor (your unit's plans), coordinator or admin role "
            f"(yours: {principal.role})",
        )


def _read(upload: UploadFile | None) -> tuple[str, bytes] | None:
    """The file's name and bytes (None when the form sent no file), refusing one larger than the limit."""
    if upload is None or not upload.filename:
        return None
    limit = get_settings().max_upload_mb * 1024 * 1024
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        mb = get_settings().max_upload_mb
        raise Problem(413, f"文件超过 {mb} MB / the file is larger than {mb} MB", parameter="file")
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1], content


def _zh(exc: Problem) -> str:
    return str(exc.extra.get("reason_zh") or exc.detail.split(" / ", 1)[0])


# ---------------------------------------------------------------- pages


def _form_page(
    request: Request,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    staged: Preview | None = None,
    status: int = 200,
    who: usecases.Uploader | None = None,
) -> HTMLResponse:
    context = {
        "who": who,
        "form": form or {},
        "cities": CITIES,
        "error": error,
        "staged": staged,
        "accept": ACCEPT,
        "max_mb": get_settings().max_upload_mb,
    }
    return render(request, "plan_uploads/form.html", context, status=status)


def _preview_page(
    request: Request, preview: Preview, *, error: str | None = None, status: int | None = None
) -> HTMLResponse:
    blocking = bool(preview.issues)
    plan_only = blocking and all(i.row is None for i in preview.issues)
    context = {
        "preview": preview,
        "answers": preview.answers,
        "origin_labels": ORIGIN_LABELS,
        "cities": CITIES,
        "error": error,
        "plan_only": plan_only,
        "sections": _by_section(preview),
        "problem_rows": {i.row for i in preview.issues if i.row is not None},
    }
    return render(request, "plan_uploads/preview.html", context, status=status or (422 if blocking else 200))


def _by_section(preview: Preview) -> list[tuple[str, list[Any]]]:
    sections: dict[str, list[Any]] = {}
    for task in preview.tasks:
        sections.setdefault(task.task.section or "（未分部分）", []).append(task)
    return list(sections.items())


@router.get("/plans/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_form(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _planner(principal)
    # an editor of no unit is told now, not after choosing the file
    who = usecases.uploader(session, principal.name, principal.role)
    return _form_page(request, who=who)


@router.post("/plans/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_page(
    request: Request,
    file: UploadFile | None = File(None),
    staged: str = Form("", max_length=100),
    plan: str = Form("", max_length=100),
    title: str = Form("", max_length=500),
    year: str = Form("", max_length=20),
    city: str = Form("", max_length=20),
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _planner(principal)
    form = {"plan": plan, "title": title, "year": year, "city": city}
    try:
        sent = _read(file)
        if sent is not None:
            preview = usecases.preview_upload(session, principal.name, sent[0], sent[1], form, role=principal.role)
        elif staged:
            preview = usecases.repreview_upload(session, principal.name, staged, form, role=principal.role)
        else:
            return _form_page(request, form=form, error="请选择要上传的文件（.xlsx、.xls 或 .csv）", status=400)
    except Problem as exc:
        session.rollback()
        return _form_page(request, form=form, error=_zh(exc), status=exc.status)
    return _preview_page(request, preview)


@router.post("/plans/upload/{upload_id}/commit", include_in_schema=False)
def commit_page(
    request: Request,
    upload_id: str,
    sha256: str = Form("", max_length=64),
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _planner(principal)
    try:
        result = usecases.commit_upload(session, principal.name, upload_id, sha256 or None, role=principal.role)
    except Problem as exc:
        session.rollback()
        if exc.status == 422 and "problems" in exc.extra:
            preview = usecases.staged_preview(session, principal.name, upload_id, role=principal.role)
            return _preview_page(request, preview, error=_zh(exc), status=422)
        return _form_page(request, error=_zh(exc), status=exc.status)
    response = RedirectResponse(f"/ledger?plan={quote(result.plan_id)}", status_code=303)
    flash.add(
        request,
        response,
        f"已导入计划“{result.title}”：新增 {result.created} 项，更新 {result.updated} 项，不变 {result.unchanged} 项；"
        + result.located.split(" / ")[0],
        "success",
    )
    return response


# ---------------------------------------------------------------- API


def _problem_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ProblemDetail.model_json_schema()}}}


PREVIEW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The preview: nothing stored but the file, staged for the commit (24 h)"},
    413: _problem_doc("The file is larger than XIANGMAP_MAX_UPLOAD_MB, or has too many rows"),
    415: _problem_doc("Not an .xlsx, .xls or .csv file"),
    422: _problem_doc(
        "The file cannot be read (no header row, damaged, wrong encoding), or has problems: `problems` lists "
        "each with its row, column and reason, beside the rest of the preview"
    ),
}


@router.post(
    "/plans/uploads",
    summary="Preview a plan spreadsheet (coordinator: any plan; editor: their unit's): what it creates and "
    "updates, every problem by row and column",
    responses=PREVIEW_RESPONSES,
)
def upload_api(
    file: UploadFile = File(..., description="The office's plan sheet: .xlsx, .xls, or .csv in UTF-8 or GBK"),
    plan: str | None = Form(None, description="plan id (default: the plan of the same title, else e.g. zhuzhou-2018)"),
    title: str | None = Form(None, description="plan title (default: the sheet's title row)"),
    year: str | None = Form(None, description="plan year (default: the title row's); dates 年底前, 上半年 ..."),
    city: str | None = Form(None, description="株洲市, 长沙市, 湘潭市 or 湖南省 (default: the title row's)"),
    principal: Principal = Depends(require_role("editor")),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    sent = _read(file)
    if sent is None:
        raise Problem(400, "no file sent", parameter="file")
    form = {"plan": plan, "title": title, "year": year, "city": city}
    preview = usecases.preview_upload(session, principal.name, sent[0], sent[1], form, role=principal.role)
    body = jsonable_encoder(preview.as_dict())
    if preview.issues:
        problem = {
            "type": "about:blank",
            "title": "Unprocessable Content",
            "status": 422,
            "detail": f"{len(preview.issues)} problem(s) in {sent[0]}: fix the file and upload it again",
        }
        return JSONResponse({**problem, **body}, status_code=422, media_type=PROBLEM_JSON)
    return JSONResponse(body)


@router.post(
    "/plans/uploads/{upload_id}/commit",
    summary="Commit a previewed plan spreadsheet (coordinator, or the editor who previewed it): all or nothing",
    responses={
        200: {"description": "Committed: the plan and the counts of created, updated and unchanged tasks"},
        409: _problem_doc("Already committed, or not the file that was previewed (sha256)"),
        422: _problem_doc("The upload has problems now (the register changed): nothing committed"),
    },
)
def commit_api(
    upload_id: str,
    sha256: str | None = Query(None, max_length=64, description="the previewed file's sha256, to be sure"),
    principal: Principal = Depends(require_role("editor")),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    result = usecases.commit_upload(session, principal.name, upload_id, sha256, role=principal.role)
    return JSONResponse(result.as_dict())
