"""The case pages (issue 16): GET/POST /cases/new (the patrol form), GET /cases/{id} (the case, its timeline
and one form per step this account may take), POST /cases/{id}/steps/{action}.  Parse, authorise, shape:
the case register's work is in service.cases.usecases (docs/case-pages.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.routing import Match
from starlette.types import Scope

from service.case_pages import view
from service.case_pages.form import FORM, KINDS, SEVERITIES, PatrolForm, StepForm
from service.cases import usecases as cases
from service.dependencies import get_session
from service.errors import Problem
from service.projects.usecases import ProjectQuery, get_project, list_projects
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings
from service.units.usecases import list_units
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False, tags=["web"])

CaseId = Annotated[int, Path(ge=1, le=9_223_372_036_854_775_807, description="case id")]
Text = Annotated[str, Form(max_length=8000)]
FILERS = ("inspector", "coordinator", "admin")  # who may register a case (service.cases.usecases.register_case)
PLACE_ACCEPT = ".kml,.gpx,.geojson,.json,.zip"
# the site-wide policy (service.middleware) turns geolocation off; the patrol form alone may ask this page's
# own origin for the phone's position (decision 0230)
FORM_PERMISSIONS = {"Permissions-Policy": "geolocation=(self), camera=(), microphone=()"}
STALE = "已被他人更新，请刷新页面后再办理 / the case was changed by someone else: reload the page"


def _may_file(principal: Principal) -> None:
    if principal.role not in FILERS:
        raise Problem(403, "登记案件须由督查人员、两型办或管理员办理 / registering needs a supervisor role")


def _chosen_project(session: Session, project_id: str) -> dict[str, Any] | None:
    if not project_id.isdigit() or len(project_id) > 10:
        return None
    found = get_project(session, int(project_id))
    return _choice(found) if found else None


def _choice(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": p["id"], "title": p["title"], "number": p.get("number"), "plan": p.get("plan")}


def _form_page(
    request: Request,
    session: Session,
    form: PatrolForm,
    *,
    status: int = 200,
    project_q: str = "",
    had_files: bool = False,
) -> HTMLResponse:
    context = {
        "form": form,
        "errors": form.errors,
        "kinds": KINDS,
        "severities": SEVERITIES,
        "units": view.unit_choices(list_units(session)),
        "today": date.today().isoformat(),
        "place_accept": PLACE_ACCEPT,
        "project_q": project_q,
        "chosen": _chosen_project(session, form.project_id),
        "projects": [],
        "searched": "",
        "had_files": had_files,
    }
    return render(request, "cases/new.html", context, status=status, headers=FORM_PERMISSIONS)


@router.get("/cases/new", response_class=HTMLResponse)
def patrol_form(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_file(principal)
    return _form_page(request, session, PatrolForm.defaults(principal.role, date.today()))


@router.get("/cases/new/projects", response_class=HTMLResponse)
def project_choices(
    request: Request,
    project_q: Annotated[str, Query(max_length=100)] = "",
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    """The task picker's choices for what was typed (htmx swaps them under the search box)."""
    _may_file(principal)
    q = project_q.strip()
    items = list_projects(session, ProjectQuery(q=q, limit=12))["items"] if q else []
    projects = [_choice(p) for p in items]
    return render(request, "cases/_projects.html", {"projects": projects, "chosen": None, "searched": q})


def _upload(part: UploadFile | None, limit_mb: int) -> cases.Upload | None:
    """The part's name and bytes, read up to one byte past the limit (the register names a file too large)."""
    if part is None or not part.filename:
        return None  # the browser sends an empty part for a file input left empty
    return cases.Upload(part.filename, part.file.read(limit_mb * 1024 * 1024 + 1))


def _uploads(parts: list[UploadFile] | None) -> list[cases.Upload]:
    limit = get_settings().max_evidence_mb
    return [u for u in (_upload(p, limit) for p in parts or []) if u is not None]


def _where(problem: Problem) -> str:
    where = str(problem.extra.get("parameter") or problem.extra.get("pointer") or "").strip("/")
    return where.split("/")[0].split(".")[0]


@router.post("/cases/new", response_class=HTMLResponse)
def register(
    request: Request,
    kind: Text = "",
    title: Text = "",
    description: Text = "",
    severity: Text = "",
    found_on: Text = "",
    geom: Annotated[str, Form(max_length=2_000_000)] = "",
    position_source: Text = "",
    accuracy_m: Text = "",
    responsible_unit_id: Text = "",
    rectification: Text = "",
    deadline: Text = "",
    project_id: Text = "",
    project_q: Text = "",
    place_file: Annotated[UploadFile | None, File()] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    _may_file(principal)
    values = {
        "kind": kind,
        "title": title,
        "description": description,
        "severity": severity,
        "found_on": found_on,
        "geom": geom,
        "position_source": position_source,
        "accuracy_m": accuracy_m,
        "responsible_unit_id": responsible_unit_id,
        "rectification": rectification,
        "deadline": deadline,
        "project_id": project_id,
    }
    form = PatrolForm.from_fields(values)
    place = _upload(place_file, get_settings().max_upload_mb)
    files = _uploads(photos)
    form.check(has_place_file=place is not None, today=date.today())
    if form.errors:
        return _form_page(request, session, form, status=400, project_q=project_q, had_files=bool(files or place))
    try:
        data = _case_in(form, from_file=place is not None)
    except ValidationError as exc:
        for error in exc.errors():
            form.add(str(error["loc"][0]) if error["loc"] else FORM, f"{error['msg']} / {error['type']}")
        return _form_page(request, session, form, status=400, project_q=project_q, had_files=bool(files or place))
    try:
        saved = cases.register_case(session, principal.name, principal.role, data, files, place_file=place)
    except Problem as problem:
        form.add(_where(problem) or FORM, problem.detail)
        return _form_page(request, session, form, status=problem.status, project_q=project_q, had_files=True)
    response = RedirectResponse(f"/cases/{saved['id']}", status_code=303)
    flash.add(request, response, f"已登记 {saved['number']}", "success")
    return response


def _case_in(form: PatrolForm, *, from_file: bool) -> cases.CaseIn:
    """The register's input from the form: the place is the file (sent apart), the phone's position, or the
    drawn geometry, exactly one."""
    geometry = None if from_file else form.geometry()
    position = None
    if geometry is not None and form.position_source == "gps" and geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        position = cases.PositionIn(lon=lon, lat=lat, accuracy_m=form.accuracy(), crs="WGS84")
        geometry = None
    return cases.CaseIn(
        kind=form.kind,  # type: ignore[arg-type]  # checked by the form
        title=form.title,
        description=form.description,
        found_on=date.fromisoformat(form.found_on),
        project_id=int(form.project_id) if form.project_id else None,
        responsible_unit=int(form.responsible_unit_id) if form.responsible_unit_id else None,
        rectification=form.rectification,
        deadline=date.fromisoformat(form.deadline) if form.deadline else None,
        severity=form.severity,  # type: ignore[arg-type]
        geometry=geometry,
        position=position,
    )


def _case_page(
    request: Request,
    session: Session,
    found: dict[str, Any],
    *,
    step_forms: dict[str, StepForm] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = view.case_context(found) | {
        "steps": found.get("allowed_actions", []),
        "step_forms": step_forms or {},
        "refusal": refusal,
        "units": [],
    }
    if any(s.get("needs_assignment") for s in context["steps"]):
        context["units"] = view.unit_choices(list_units(session))
    return render(request, "cases/page.html", context, status=status, headers={"ETag": found["etag"]})


class BrowserRoute(SessionReleasingRoute):
    """GET /cases/{id} is the page for a browser (Accept naming text/html) and the JSON case of the API
    (service.cases.routes) for everyone else: this route does not match a request that does not ask for HTML,
    so it falls through to the API's route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        if "text/html" not in accept:
            return Match.NONE, {}
        return super().matches(scope)


def case_page(
    request: Request,
    case_id: CaseId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    _may_see(principal)
    found = cases.get_case(session, principal.name, principal.role, case_id)
    return _case_page(request, session, found)


router.add_api_route(
    "/cases/{case_id:int}", case_page, methods=["GET"], response_class=HTMLResponse, route_class_override=BrowserRoute
)


def _may_see(principal: Principal) -> None:
    if principal.role in (None, "viewer"):
        raise Problem(403, "查看账户不能查看案件 / a viewer account does not see cases")


@router.post("/cases/{case_id:int}/steps/{action}", response_class=HTMLResponse)
def take_step(
    request: Request,
    case_id: CaseId,
    action: Annotated[str, Path(max_length=20)],
    note: Text = "",
    deadline: Text = "",
    responsible_unit_id: Text = "",
    etag: Annotated[str, Form(max_length=100)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """One step from its form on the case page; a refusal shows the page again with the reason by the form."""
    _may_see(principal)
    sf = StepForm(action, note, deadline.strip(), responsible_unit_id.strip(), etag)
    when: date | None = None
    if sf.deadline:
        try:
            when = date.fromisoformat(sf.deadline)
        except ValueError:
            sf.add("deadline", f"“{sf.deadline}”不是日期，请按 2026-03-01 的格式填写 / not a date (YYYY-MM-DD)")
    if sf.responsible_unit_id and not sf.responsible_unit_id.isdigit():
        sf.add("responsible_unit_id", "请从列表中选择责任单位 / choose a unit from the list")
    status = 400
    if not sf.errors:
        try:
            cases.take_step(
                session,
                principal.name,
                principal.role,
                case_id,
                action,
                note=note,
                files=_uploads(files),
                if_match=etag or None,
                responsible_unit_id=int(sf.responsible_unit_id) if sf.responsible_unit_id else None,
                deadline=when,
            )
        except Problem as problem:
            if problem.status == 404:
                raise
            status = problem.status
            sf.add(_where(problem) or FORM, STALE if problem.status == 412 else problem.detail)
        else:
            response = RedirectResponse(f"/cases/{case_id}#timeline", status_code=303)
            flash.add(request, response, f"已办理：{view.ACTION_ZH.get(action, action)}", "success")
            return response
    found = cases.get_case(session, principal.name, principal.role, case_id)
    if action in {s["action"] for s in found.get("allowed_actions", [])}:
        return _case_page(request, session, found, step_forms={action: sf}, status=status)
    # the step is not (or no longer) offered, e.g. someone moved the case on: say why above the steps
    refusal = "；".join(m for messages in sf.errors.values() for m in messages)
    return _case_page(request, session, found, refusal=refusal, status=status)
