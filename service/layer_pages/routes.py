"""The layer pages (/gis/..., issue 20; /layers/... is the JSON API): parse, authorise, shape.

    GET  /gis/layers                       every layer, bundled and published
    GET  /gis/layers/new                   the upload form;  POST: stage the file -> 303 to its preview
    GET  /gis/layers/new/{upload}          the preview (?crs=&encoding= to read it otherwise)
    POST /gis/layers/new/{upload}          publish -> 303 to the job
    GET  /gis/jobs/{job}                   the progress page;  GET .../progress the fragment htmx polls
    GET  /gis/layers/{id}                  facts, versions, new edition, retire / restore, protection, rules
    POST /gis/layers/{id}/versions | /status | /protected | /rules

The work is in service.layer_pages.usecases and, below it, service.layers.usecases.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.dependencies import get_session
from service.errors import Problem
from service.layer_pages import usecases
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False, tags=["web"])

LayerId = Annotated[str, Path(max_length=64, description="layer id")]
UploadId = Annotated[str, Path(max_length=64, description="staged upload id")]
JobId = Annotated[str, Path(max_length=64, description="job id")]
Short = Annotated[str, Form(max_length=2000)]
Reading = Annotated[str, Query(max_length=200)]
REFUSALS = (400, 409, 413, 415, 422)  # shown beside the form; anything else is the error page
MAX_RULES_BYTES = 256 * 1024
ACCEPT = ".zip,.gpkg,.geojson,.json,.shp,.kml,.fgb,.gml,.csv"


def _may_publish(principal: Principal) -> None:
    """The pages are for GIS staff and admins; anyone else gets the 403 page."""
    if not principal.has("gis"):
        raise Problem(403, "只有地理信息人员和管理员可以管理图层 / gis staff and admins only")


async def _form(request: Request) -> dict[str, str]:
    """The posted form's text fields (the publish form's field rows are named by their place: column_3 ...)."""
    sent = await request.form()
    return {k: v for k, v in sent.multi_items() if isinstance(v, str)}


def _said(exc: Problem) -> str:
    return exc.detail


# ---------------------------------------------------------------- the list and the upload form


@router.get("/gis/layers", response_class=HTMLResponse)
def layer_list(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_publish(principal)
    return render(request, "layer_pages/list.html", usecases.overview(session))


def _upload_page(request: Request, *, error: str = "", typed: dict[str, str] | None = None, status: int = 200):
    context = {
        "error": error,
        "typed": {"crs": "", "encoding": ""} | (typed or {}),
        "crs_choices": list(usecases.crs_labels().items()),
        "encodings": usecases.ENCODINGS,
        "accept": ACCEPT,
    }
    return render(request, "layer_pages/upload.html", context, status=status)


@router.get("/gis/layers/new", response_class=HTMLResponse)
def upload_form(request: Request, principal: Principal = Depends(page_user)) -> HTMLResponse:
    _may_publish(principal)
    return _upload_page(request)


def _reading_query(crs: str, encoding: str, layer_name: str = "") -> str:
    chosen = {k: v for k, v in (("crs", crs), ("encoding", encoding), ("layer_name", layer_name)) if v}
    return f"?{urlencode(chosen)}" if chosen else ""


@router.post("/gis/layers/new", response_class=HTMLResponse)
def upload_file(
    request: Request,
    file: UploadFile | None = File(None),
    crs: Annotated[str, Form(max_length=200)] = "",
    encoding: Annotated[str, Form(max_length=40)] = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    typed = {"crs": crs, "encoding": encoding}
    if file is None or not file.filename:
        return _upload_page(request, error="请选择要上传的文件", typed=typed, status=400)
    try:
        answer = usecases.upload(session, principal.name, file, crs=crs, encoding=encoding)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        return _upload_page(request, error=f"无法读取这个文件：{_said(exc)}", typed=typed, status=exc.status)
    return RedirectResponse(f"/gis/layers/new/{answer['upload_id']}{_reading_query(crs, encoding)}", status_code=303)


# ---------------------------------------------------------------- the preview and publishing


def _preview_page(
    request: Request,
    session: Session,
    principal: Principal,
    upload_id: str,
    reading: dict[str, str],
    *,
    typed: dict[str, Any] | None = None,
    error: str = "",
    error_field: str = "",
    status: int = 200,
) -> HTMLResponse:
    try:
        answer = usecases.staged_preview(session, principal.name, upload_id, reading)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        if not any(reading.values()):  # the staged file no longer reads (published already): upload it again
            return _upload_page(request, error=f"无法预览这个上传：{_said(exc)}；请重新上传", status=exc.status)
        # the file reads, but not that way (a CRS or an encoding that does not fit): say so, show it as it reads
        reading = {"crs": "", "encoding": "", "layer_name": ""}
        answer = usecases.staged_preview(session, principal.name, upload_id, reading)
        error, status = f"无法按所选方式读取：{_said(exc)}", exc.status
    context = usecases.preview_view(answer, **reading) | {
        "typed": typed or usecases.typed_defaults(answer["preview"]),
        "error": error,
        "error_field": error_field,
    }
    return render(request, "layer_pages/preview.html", context, status=status)


@router.get("/gis/layers/new/{upload_id}", response_class=HTMLResponse)
def preview_page(
    request: Request,
    upload_id: UploadId,
    crs: Reading = "",
    encoding: Reading = "",
    layer_name: Reading = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_publish(principal)
    reading = {"crs": crs.strip(), "encoding": encoding.strip(), "layer_name": layer_name.strip()}
    return _preview_page(request, session, principal, upload_id, reading)


@router.post("/gis/layers/new/{upload_id}", response_class=HTMLResponse)
def publish(
    request: Request,
    upload_id: UploadId,
    form: dict[str, str] = Depends(_form),
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    reading = {k: form.get(k, "").strip()[:200] for k in ("crs", "encoding", "layer_name")}
    try:
        answer = usecases.staged_preview(session, principal.name, upload_id, reading)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        return _upload_page(request, error=f"无法预览这个上传：{_said(exc)}；请重新上传", status=exc.status)
    typed = usecases.typed_from_form(answer["preview"], form)
    try:
        job = usecases.start_publish(session, principal.name, upload_id, answer["preview"], typed, reading)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        where = str(exc.extra.get("parameter") or "")
        return _preview_page(
            request,
            session,
            principal,
            upload_id,
            reading,
            typed=typed,
            error=_said(exc),
            error_field=where,
            status=exc.status,
        )
    return RedirectResponse(f"/gis/jobs/{job['id']}?{urlencode({'upload': upload_id})}", status_code=303)


# ---------------------------------------------------------------- jobs


def _upload_ref(upload: str) -> str:
    try:
        return str(uuid.UUID(upload)) if upload else ""
    except ValueError:
        return ""


@router.get("/gis/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request,
    job_id: JobId,
    upload: Reading = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_publish(principal)
    context = usecases.job_view(session, job_id, principal.name) | {"upload": _upload_ref(upload)}
    return render(request, "layer_pages/job.html", context)


@router.get("/gis/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(
    request: Request,
    job_id: JobId,
    upload: Reading = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    """The fragment htmx polls every second; once the job is done or failed it polls no more."""
    _may_publish(principal)
    context = usecases.job_view(session, job_id, principal.name) | {"upload": _upload_ref(upload)}
    return render(request, "layer_pages/_progress.html", context)


# ---------------------------------------------------------------- one layer


def _layer_page(
    request: Request,
    session: Session,
    layer_id: str,
    *,
    error_form: str = "",
    error: str = "",
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = usecases.layer_view(session, layer_id)
    context = view | {
        "error_form": error_form,
        "error": error,
        "typed": {"rules": view["rules_text"], "note": "", "mode": "replace", "crs": ""} | (typed or {}),
        "crs_choices": list(usecases.crs_labels().items()),
        "accept": ACCEPT,
    }
    return render(request, "layer_pages/layer.html", context, status=status)


@router.get("/gis/layers/{layer_id}", response_class=HTMLResponse)
def layer_page(
    request: Request,
    layer_id: LayerId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_publish(principal)
    return _layer_page(request, session, layer_id)


@router.post("/gis/layers/{layer_id}/versions", response_class=HTMLResponse)
def new_version(
    request: Request,
    layer_id: LayerId,
    file: UploadFile | None = File(None),
    mode: Annotated[str, Form(max_length=20)] = "",
    crs: Annotated[str, Form(max_length=200)] = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    try:
        job = usecases.start_change(session, principal.name, layer_id, file, mode, crs.strip())
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        typed = {"mode": mode, "crs": crs}
        return _layer_page(
            request, session, layer_id, error_form="version", error=_said(exc), typed=typed, status=exc.status
        )
    return RedirectResponse(f"/gis/jobs/{job['id']}", status_code=303)


def _back(request: Request, layer_id: str, text: str, level: flash.Level) -> RedirectResponse:
    response = RedirectResponse(f"/gis/layers/{layer_id}", status_code=303)
    flash.add(request, response, text, level)
    return response


@router.post("/gis/layers/{layer_id}/status")
def change_status(
    request: Request,
    layer_id: LayerId,
    action: Annotated[str, Form(max_length=20)] = "",
    note: Short = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    if action not in ("retire", "restore"):
        raise Problem(400, "action: retire or restore", parameter="action")
    try:
        usecases.set_status(session, principal.name, layer_id, retire=action == "retire", note=note)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        return _back(request, layer_id, _said(exc), "error")
    said = "已停用：不再提供服务，数据和历史保留" if action == "retire" else "已恢复：重新提供服务"
    return _back(request, layer_id, f"图层 {layer_id} {said}", "success")


@router.post("/gis/layers/{layer_id}/protected")
def change_protected(
    request: Request,
    layer_id: LayerId,
    protected: Annotated[str, Form(max_length=5)] = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    wanted = protected == "1"
    try:
        usecases.set_protected(session, principal.name, layer_id, wanted)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        return _back(request, layer_id, _said(exc), "error")
    said = "已设为保护区：筛查使用它和它的规则" if wanted else "已取消保护区：筛查不再使用它"
    return _back(request, layer_id, f"图层 {layer_id} {said}", "success")


@router.post("/gis/layers/{layer_id}/rules", response_class=HTMLResponse)
def store_rules(
    request: Request,
    layer_id: LayerId,
    rules: Annotated[str, Form(max_length=MAX_RULES_BYTES)] = "",
    rules_file: UploadFile | None = File(None),
    note: Short = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_publish(principal)
    text = rules.replace("\r\n", "\n")
    if rules_file is not None and rules_file.filename:
        content = rules_file.file.read(MAX_RULES_BYTES + 1)
        text = content.decode("utf-8", "replace")
    else:
        content = text.encode("utf-8")
    try:
        stored = usecases.store_rules(session, principal.name, layer_id, content, note)
    except Problem as exc:
        session.rollback()
        if exc.status not in REFUSALS:
            raise
        line = exc.extra.get("line")
        said = f"第 {line} 行有误：{_said(exc)}" if line else _said(exc)
        typed = {"rules": text, "note": note}
        return _layer_page(request, session, layer_id, error_form="rules", error=said, typed=typed, status=exc.status)
    when = f"，{stored['valid_from']} 起施行" if stored.get("valid_from") else ""
    return _back(request, layer_id, f"已保存筛查规则（方案 {stored['scheme']}{when}，第 {stored['id']} 号）", "success")
