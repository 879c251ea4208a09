"""The monthly sheet over HTTP: the page (/ledger/monthly-sheet), the download, the upload and its commit;
and the API twin (POST /progress/sheets, POST /progress/sheets/{id}/commit) for bearer tokens.  Thin: the
work is service.monthly_sheets.usecases."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import Problem
from service.monthly_sheets import usecases
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute)
PAGE = "/ledger/monthly-sheet"
UploadId = Annotated[str, Path(max_length=64, description="the staged upload's id (from the preview)")]


def _editor(principal: Principal) -> Principal:
    if not principal.has("editor"):
        raise Problem(
            403,
            f"月报表需要编辑、协调员或管理员账户（您的角色：{principal.role}） / "
            f"the monthly sheet needs an editor, coordinator or admin account (yours: {principal.role})",
        )
    return principal


def _unit(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise Problem(400, f"单位编号“{text}”不是数字 / unit: not a unit id: {text!r}", parameter="unit")
    return int(text)


def _read(upload: UploadFile) -> bytes:
    """The file's bytes, refused past the upload limit without reading further."""
    megabytes = get_settings().max_upload_mb
    data = upload.file.read(megabytes * 1024 * 1024 + 1)
    if len(data) > megabytes * 1024 * 1024:
        name = upload.filename or "upload"
        raise Problem(413, f"“{name}”超过 {megabytes} MB / {name!r} is larger than {megabytes} MB", parameter="file")
    return data


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    period: str | None = None,
    unit: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    choices = usecases.page_choices(session, principal.name, principal.role)
    own = choices["own_unit"]
    context: dict[str, Any] = {
        "choices": choices,
        "period": period or usecases.parse_month(None).strftime("%Y-%m"),
        "unit": unit if unit is not None else (own.id if own else None),
        "error": error,
    }
    return render(request, "monthly_sheets/page.html", context, status=status)


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
def sheet_page(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _page(request, session, _editor(principal))


@router.get(f"{PAGE}.xlsx", include_in_schema=False)
def sheet_download(
    unit: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """The unit's tasks for the month as .xlsx (an editor: their unit; a coordinator: the one chosen)."""
    _editor(principal)
    sheet = usecases.download(session, principal.name, principal.role, _unit(unit), period)
    disposition = f"attachment; filename=\"{sheet.filename}\"; filename*=UTF-8''{quote(sheet.filename_zh)}"
    return Response(sheet.content, media_type=usecases.MEDIA, headers={"Content-Disposition": disposition})


@router.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
def sheet_upload(
    request: Request,
    file: UploadFile | None = File(None),
    unit: str | None = Form(None, max_length=20),
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    """Upload the filled sheet: the preview (nothing is recorded until 提交)."""
    _editor(principal)
    if file is None or not file.filename:
        return _page(request, session, principal, error="请选择要上传的月报表文件（.xlsx）", status=400)
    try:
        unit_id = _unit(unit)
        preview = usecases.upload(session, principal.name, principal.role, file.filename, _read(file), unit_id)
    except Problem as exc:
        session.rollback()
        return _page(request, session, principal, error=exc.detail, status=exc.status)
    return render(request, "monthly_sheets/preview.html", {"preview": preview})


@router.post(f"{PAGE}/{{upload_id}}/commit", include_in_schema=False)
def sheet_commit(
    request: Request,
    upload_id: UploadId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """Record the previewed sheet (all or nothing), then the ledger with a message."""
    _editor(principal)
    try:
        result = usecases.commit(session, upload_id, principal.name, principal.role)
    except Problem as exc:
        session.rollback()
        return _page(request, session, principal, error=exc.detail, status=exc.status)
    query: list[tuple[str, str]] = []
    if result.unit_id is not None:
        query.append(("unit", str(result.unit_id)))
    if result.period:
        query.append(("as_of", result.period))
    response = RedirectResponse(f"/ledger?{urlencode(query)}" if query else "/ledger", status_code=303)
    flash.add(
        request,
        response,
        f"月报已提交：记录 {result.recorded} 条进展，{result.unchanged} 条无变化，{result.skipped} 行未填写",
        "success",
    )
    return response


# --- the API twin ----------------------------------------------------------------------------------


@router.post(
    "/progress/sheets",
    status_code=201,
    tags=["progress"],
    summary="Upload a filled monthly sheet (.xlsx from /ledger/monthly-sheet.xlsx): its preview, nothing recorded",
)
def api_upload(
    file: UploadFile = File(..., description="the unit's monthly sheet as downloaded and filled (.xlsx)"),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role("editor")),
) -> JSONResponse:
    """Each row as ``record`` / ``unchanged`` / ``skipped`` / ``problem``; every problem with its row, column
    and reason (English; ``reason_zh`` in Chinese).  Commit with POST /progress/sheets/{upload_id}/commit."""
    preview = usecases.upload(session, principal.name, principal.role, file.filename or "upload", _read(file))
    return JSONResponse(
        preview.as_json(), status_code=201, headers={"Location": f"/progress/sheets/{preview.upload_id}"}
    )


@router.post(
    "/progress/sheets/{upload_id}/commit",
    tags=["progress"],
    summary="Record every report of an uploaded monthly sheet in one transaction (refused while it has problems)",
)
def api_commit(
    upload_id: UploadId,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role("editor")),
) -> dict[str, Any]:
    return usecases.commit(session, upload_id, principal.name, principal.role).as_json()
