"""Evaluations over HTTP: the pages (/evaluations, /evaluations/{id}, /evaluations/compare), the JSON API
(/evaluations.json, /evaluations/compare.json) and the stored files (/evaluations/{id}/{name}).

Parse, authorise, shape; the work is service.evaluations.usecases.  The files are immutable once stored, so
they are sent with their SHA-256 as the ETag and may be cached for good.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import Problem
from service.evaluations import usecases
from service.models.audit import ROLES
from service.models.evaluations import EVALUATION_KINDS, KIND_LABELS
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.web import flash
from service.web.pages import page_user, render

router = APIRouter(route_class=SessionReleasingRoute, tags=["evaluations"])
EvaluationId = Annotated[int, Path(ge=1, le=2**53, description="evaluation id")]
FileName = Literal["evaluation.json", "wallmap.png", "tasks.gpkg", "report.pdf", "report.xlsx", "package.zip"]
# what a downloaded file is called (ASCII, and the Chinese name in filename*)
SAVED_AS = {
    "evaluation.json": "评估快照.json",
    "wallmap.png": "挂图.png",
    "tasks.gpkg": "任务.gpkg",
    "report.pdf": "评估报告.pdf",
    "report.xlsx": "评估报告.xlsx",
    "package.zip": "第三方评估资料包.zip",
}
SHOWN_INLINE = ("report.pdf", "wallmap.png", "evaluation.json")


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["monthly", "quarterly", "yearly"] = Field(description="月度 / 季度 / 年度")
    as_of: date = Field(description="the date the evaluation looks at (YYYY-MM-DD)")
    plan: str | None = Field(default=None, max_length=100, description="one plan's id; omitted: every plan")


@router.get("/evaluations.json", summary="Every evaluation made, newest first")
def list_evaluations(
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_role(*ROLES)),
) -> list[dict[str, Any]]:
    return usecases.listing(session)


@router.post(
    "/evaluations.json",
    status_code=201,
    summary="Make (freeze) an evaluation at a date: coordinators (the 两型办 planners)",
)
def make_evaluation(
    body: EvaluationIn,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(require_role(*usecases.MAKING_ROLES)),
) -> dict[str, Any]:
    return usecases.make(
        session, kind=body.kind, as_of=body.as_of, plan_id=body.plan, actor=principal.name, role=principal.role
    )


@router.get("/evaluations/compare.json", summary="What moved between two evaluations")
def compare_evaluations(
    first: Annotated[int, Query(alias="from", ge=1, le=2**53, description="the earlier evaluation's id")],
    second: Annotated[int, Query(alias="to", ge=1, le=2**53, description="the later evaluation's id")],
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_role(*ROLES)),
) -> dict[str, Any]:
    return usecases.compare(session, first, second)


@router.get("/evaluations/{evaluation_id}.json", summary="One evaluation: what it is and the files it has")
def get_evaluation(
    evaluation_id: EvaluationId,
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(require_role(*ROLES)),
) -> dict[str, Any]:
    return usecases.evaluation(session, evaluation_id)


@router.get(
    "/evaluations/{evaluation_id}/{name}",
    summary="A stored file of an evaluation (the snapshot, the report, the workbook, the package ...)",
    response_class=Response,
)
def evaluation_file(
    request: Request,
    evaluation_id: EvaluationId,
    name: FileName,
    session: Session = Depends(get_session, scope="function"),
    _: Principal = Depends(page_user),
) -> Response:
    content, media = usecases.stored_file(session, evaluation_id, name)
    etag = '"' + usecases.sha256(content) + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": (
            f'{"inline" if name in SHOWN_INLINE else "attachment"}; filename="evaluation-{evaluation_id}-{name}";'
            f" filename*=UTF-8''{quote(f'评估{evaluation_id}-{SAVED_AS[name]}')}"
        ),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media, headers=headers)


# --- the pages ------------------------------------------------------------------------------------------


def _list_page(request: Request, session: Session, principal: Principal, *, errors=(), typed=None, status=200):
    today = date.today()
    context = {
        "evaluations": usecases.listing(session),
        "plans": usecases.plan_choices(session),
        "kinds": [(k, KIND_LABELS[k]) for k in EVALUATION_KINDS],
        "typed": typed or {"kind": "quarterly", "as_of": today.isoformat(), "plan": ""},
        "errors": list(errors),
        "may_make": principal.has(*usecases.MAKING_ROLES),
        "rule": usecases.rule_summary(),
    }
    return render(request, "evaluations/list.html", context, status=status)


@router.get("/evaluations", response_class=HTMLResponse, include_in_schema=False)
def evaluations_page(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return _list_page(request, session, principal)


@router.post("/evaluations", response_class=HTMLResponse, include_in_schema=False)
async def make_evaluation_page(
    request: Request,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    form = {k: str(v)[:200] for k, v in (await request.form()).items() if isinstance(v, str)}
    typed = {"kind": form.get("kind", ""), "as_of": form.get("as_of", ""), "plan": form.get("plan", "")}
    if not principal.has(*usecases.MAKING_ROLES):
        return _list_page(
            request,
            session,
            principal,
            typed=typed,
            status=403,
            errors=["只有统筹协调人员可以生成评估 / coordinators only"],
        )
    try:
        as_of = date.fromisoformat(typed["as_of"])
    except ValueError:
        return _list_page(
            request,
            session,
            principal,
            typed=typed,
            status=400,
            errors=[f"截至日期“{typed['as_of']}”不是 YYYY-MM-DD / as_of is not a date"],
        )
    try:
        made = usecases.make(
            session,
            kind=typed["kind"],
            as_of=as_of,
            plan_id=typed["plan"] or None,
            actor=principal.name,
            role=principal.role,
        )
    except Problem as problem:
        session.rollback()
        return _list_page(request, session, principal, typed=typed, status=problem.status, errors=[problem.detail])
    response = RedirectResponse(f"/evaluations/{made['id']}", status_code=303)
    flash.add(request, response, f"已生成并冻结：{made['title']}（{made['tasks']} 项任务）")
    return response


@router.get("/evaluations/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request,
    first: Annotated[int, Query(alias="from", ge=1, le=2**53)],
    second: Annotated[int, Query(alias="to", ge=1, le=2**53)],
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    return render(request, "evaluations/compare.html", {"data": usecases.compare(session, first, second)})


@router.get("/evaluations/{evaluation_id}", response_class=HTMLResponse, include_in_schema=False)
def evaluation_page(
    request: Request,
    evaluation_id: EvaluationId,
    principal: Principal = Depends(page_user),
    session: Session = Depends(get_session, scope="function"),
) -> HTMLResponse:
    meta = usecases.evaluation(session, evaluation_id)
    document = usecases.snapshot_document(session, evaluation_id)
    others = [e for e in usecases.listing(session) if e["id"] != evaluation_id]
    context = {"meta": meta, "doc": document, "behind": usecases.behind_tasks(document), "others": others}
    return render(request, "evaluations/page.html", context)
