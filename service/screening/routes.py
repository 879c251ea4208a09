"""Routes for protected-zone screening (issue 7); thin: parsing, auth and the answer's shape here, the
work in ``service.screening.usecases`` (issue #13), which the CLI calls too.

Screening is for inspectors (and admins): every check is recorded with who asked, and the sites
screened may be sensitive before a project is public; anonymous callers get 401
(docs/decisions/0050-who-may-screen.md).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.common.geometry_guard import check_json_depth
from service.common.signed_links import verify
from service.common.strict_numbers import NOT_BOOL, Integer, Number
from service.database import get_engine
from service.dependencies import current_principal, get_session, require_role
from service.errors import RATE_LIMITED_RESPONSES, Problem
from service.rate_limits import rate_limited
from service.routing import SessionReleasingRoute
from service.screening import usecases
from service.screening.labels import NAME_MAX, NOTE_MAX
from service.screening.rules import VERDICTS
from service.screening.site_input import SUPPORTED_CRS
from service.screening.verdict import MAX_BUFFER_M
from service.security import Principal
from service.settings import get_settings

router = APIRouter(route_class=SessionReleasingRoute, tags=["screening"])
inspector = require_role("inspector")


class ScreeningRequest(BaseModel):
    """A site to screen: exactly one of ``geometry`` (GeoJSON) or ``wkt``."""

    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON geometry, Feature or FeatureCollection, in the CRS named by `crs`"
    )
    wkt: str | None = Field(None, description="WKT geometry, in the CRS named by `crs`")
    crs: str | None = Field(
        None,
        description=f"one of {', '.join(SUPPORTED_CRS)}; without it EPSG:4326 is assumed and the answer warns"
        " (warnings[].code crs_assumed; phone files are usually GCJ-02: crs=gcj02); crs=EPSG:4326 confirms WGS84",
    )
    buffer_m: Number = Field(0.0, ge=0, le=MAX_BUFFER_M, description="also list zones within this many metres")
    date: dt.date | None = Field(None, description="the day whose regulations apply (default today, China time)")
    category: str | None = Field(
        None, description="project category id, Chinese name or keyword (see /screening/rules)"
    )
    name: str | None = Field(None, description=f"the site's name, shown in the reports' titles (at most {NAME_MAX})")
    note: str | None = Field(None, description=f"a note kept with the record (at most {NOTE_MAX} characters)")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    buffer_m: Number = Field(0.0, ge=0, le=MAX_BUFFER_M)
    project_ids: list[Integer] | None = Field(None, description="default: every project")
    name: str | None = Field(None, description=f"the batch's name, the title of its report (at most {NAME_MAX})")
    note: str | None = Field(None, description=f"a note kept with each record (at most {NOTE_MAX} characters)")


_MULTIPART_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": ScreeningRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "KML, KMZ, GPX, GeoJSON, zipped Shapefile, GeoPackage",
                        },
                        "geometry": {"type": "string"},
                        "wkt": {"type": "string"},
                        "crs": {"type": "string"},
                        "buffer_m": {"type": "number"},
                        "date": {"type": "string", "format": "date"},
                        "category": {"type": "string"},
                        "name": {"type": "string", "description": f"the site's name (at most {NAME_MAX})"},
                        "note": {"type": "string", "description": f"a note (at most {NOTE_MAX} characters)"},
                    },
                }
            },
        },
        "required": True,
    }
}


async def _read_request(request: Request) -> tuple[dict[str, Any], tuple[str, bytes] | None]:
    """JSON body or multipart form, as plain fields plus an optional (file name, bytes)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        upload = None
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                if key != "file":
                    raise Problem(400, f"form field {key!r}: send the file as 'file'", parameter=key)
                upload = (value.filename or "upload", value.file)  # spooled to disk: streamed on, never read whole
            elif value != "":
                fields[key] = value
        if isinstance(fields.get("geometry"), str):
            check_json_depth(fields["geometry"], "geometry")
            try:
                fields["geometry"] = json.loads(fields["geometry"])
            except ValueError as exc:
                raise Problem(400, f"form field 'geometry': not valid JSON ({exc})", parameter="geometry") from exc
        return fields, upload
    if content_type and not content_type.startswith("application/json") and "+json" not in content_type:
        raise Problem(415, f"send application/json or a form (multipart/form-data), not {content_type}")
    raw = await request.body()
    check_json_depth(raw, "body")  # before json.loads, whose recursion a deep GeometryCollection exhausts
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Problem(400, f"the body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object with 'geometry' or 'wkt'")
    return body, None


def _validated(fields: dict[str, Any]) -> ScreeningRequest:
    from pydantic import ValidationError

    try:
        return ScreeningRequest.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "body"
        status = 422 if name in ("buffer_m", "date") and NOT_BOOL not in first["msg"] else 400
        raise Problem(status, f"{name}: {first['msg']}", parameter=name) from exc


def _screen_site(session: Session, principal: Principal, req: ScreeningRequest, upload: Any) -> dict[str, Any]:
    return usecases.screen_site(
        session,
        principal.name,
        geometry=req.geometry,
        wkt=req.wkt,
        crs=req.crs,
        upload=upload,
        buffer_m=req.buffer_m,
        on=req.date,
        category=req.category,
        name=req.name,
        note=req.note,
    )


@router.post(
    "/screening",
    openapi_extra=_MULTIPART_DOC,
    summary="Screen a site against the protected zones",
    dependencies=[rate_limited("screening")],
    responses=RATE_LIMITED_RESPONSES,
)
async def post_screening(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> JSONResponse:
    fields, upload = await _read_request(request)
    req = _validated(fields)
    answer = await run_in_threadpool(_screen_site, session, principal, req, upload)
    return JSONResponse(answer, status_code=201, headers={"Location": answer["links"]["self"]})


@router.get("/screening/rules", summary="The screening rules in force: categories and schemes")
def get_rules(
    session: Session = Depends(get_session, scope="function"), principal: Principal = Depends(inspector)
) -> dict[str, Any]:
    return usecases.rules_in_force(session)


@router.post(
    "/screening/batch",
    status_code=201,
    summary="Screen every project (or the listed ones)",
    dependencies=[rate_limited("screening")],
    responses=RATE_LIMITED_RESPONSES,
)
def post_batch(
    body: BatchRequest | None = None,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    body = body or BatchRequest()
    most = get_settings().screening_batch_max_ids
    if body.project_ids is not None and len(body.project_ids) > most:
        raise Problem(
            413,
            f"project_ids: {len(body.project_ids)} ids, at most {most} in one batch "
            "(XIANGMAP_SCREENING_BATCH_MAX_IDS); send several batches, or leave project_ids out to screen "
            "every project",
            parameter="project_ids",
            fault="too_many_ids",
        )
    outcome = usecases.screen_batch(
        session, principal.name, body.date, body.buffer_m, body.project_ids, name=body.name, note=body.note
    )
    return {
        **outcome.summary(),
        "skipped": outcome.skipped,
        "results": [
            {**_row_brief(s.result), "screening_id": s.id, "project_id": s.project_id} for s in outcome.screened
        ],
    }


def _row_brief(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": result["verdict"],
        "flagged": result["flagged"],
        "title": (result.get("project") or {}).get("title"),
        "hits": [
            {"layer": e["layer"], "zone": z["name"], "subzone": z["subzone"], "verdict": z["verdict"]}
            for e in result["layers"]
            for z in e["zones"]
            if z["inside"]
        ],
    }


@router.get("/screening/batches/{batch}/report.{fmt}", summary="A batch report: csv, html or pdf")
def get_batch_report(
    batch: str,
    fmt: str,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> Response:
    return _report(*usecases.batch_report(session, batch, fmt))


@router.get("/screenings", summary="Recorded screenings, newest first")
def get_screenings(
    project_id: int | None = None,
    batch: str | None = None,
    verdict: str | None = Query(None, description=f"one of {', '.join(VERDICTS)}"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    if verdict is not None and verdict not in VERDICTS:
        raise Problem(400, f"verdict {verdict!r}: use one of {', '.join(VERDICTS)}", parameter="verdict")
    items = usecases.list_screenings(
        session, project_id=project_id, batch=batch, verdict=verdict, limit=limit, offset=offset
    )
    links = {}
    if len(items) == limit:
        links["next"] = f"/screenings?limit={limit}&offset={offset + limit}"
    return {"screenings": items, "limit": limit, "offset": offset, "links": links}


@router.get("/screenings/{screening_id}", summary="A recorded screening, exactly as answered")
def get_screening(
    screening_id: int,
    include_map: bool = Query(False, description="include the zone geometries kept for the map"),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.get_screening(session, screening_id, include_map=include_map)


@router.get("/screenings/{screening_id}/recheck", summary="Re-run a recorded screening on today's layers and rules")
def get_recheck(
    screening_id: int,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.recheck(session, screening_id)


@router.get(
    "/screenings/{screening_id}/replay",
    summary="Re-run a recorded screening against the layer versions and rules it saw (same: the verdict follows)",
)
def get_replay(
    screening_id: int,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.replay(session, screening_id)


@router.get("/screenings/{screening_id}/report.{fmt}", summary="One screening as an html or pdf report")
def get_screening_report(
    screening_id: int,
    fmt: str,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> Response:
    return _report(*usecases.screening_report(session, screening_id, fmt))


# how a report is offered per media type: the CSV as a download, the PDF shown in the browser
_DISPOSITIONS = {
    "text/csv; charset=utf-8": 'attachment; filename="screening.csv"',
    "application/pdf": 'inline; filename="screening.pdf"',
}


def _report(body: bytes, media_type: str) -> Response:
    disposition = _DISPOSITIONS.get(media_type)
    headers = {"Content-Disposition": disposition} if disposition else None
    return Response(body, media_type=media_type, headers=headers)


@router.post(
    "/projects/{project_id}/screening",
    status_code=201,
    summary="Screen a stored project (recorded, audited)",
    dependencies=[rate_limited("screening")],
    responses=RATE_LIMITED_RESPONSES,
)
def post_project_screening(
    project_id: int,
    date: dt.date | None = None,
    buffer_m: float = Query(0.0, ge=0, le=MAX_BUFFER_M),
    category: str | None = Query(
        None,
        max_length=100,
        description="screen under this category this once (id, Chinese name or keyword; an unknown one is a 400);"
        " PUT /projects/{id}/screening-category sets it for good",
    ),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> JSONResponse:
    answer = usecases.screen_project(session, principal.name, project_id, date, buffer_m, category)
    return JSONResponse(answer, status_code=201, headers={"Location": answer["links"]["self"]})


@router.get(
    "/projects/{project_id}/screening",
    summary="The latest recorded screening of a stored project (records nothing)",
)
def get_project_screening(
    project_id: int,
    category: str | None = Query(None, max_length=100, description="not taken here: a 400 says where it goes"),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    """A read: until issue #13 this GET recorded a screening (without an audit entry); the POST does that now.
    A ``category`` used to be ignored silently here (issue 18): it is refused, saying where it belongs."""
    if category is not None:
        raise Problem(
            400,
            "GET 只读取最近一次筛查，不接受类别；以某一类别筛查请用 POST /projects/{id}/screening?category=…，"
            "核定项目类别请用 PUT /projects/{id}/screening-category / GET reads the latest screening and takes no"
            " category: POST /projects/{id}/screening?category=... screens under one, PUT"
            " /projects/{id}/screening-category sets it for the project",
            parameter="category",
        )
    return usecases.latest_project_screening(session, project_id)


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=100, description="category id, Chinese name or keyword")
    reason: str = Field(min_length=1, max_length=500, description="why this category (kept and audited)")


@router.get(
    "/projects/{project_id}/screening-category",
    summary="The category a project is screened under, and how it was chosen (inspector)",
)
def get_project_category(
    project_id: int,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.project_category_of(session, project_id)


@router.put(
    "/projects/{project_id}/screening-category",
    summary="Set or correct a project's screening category (inspector; kept, audited, never overwritten)",
)
def put_project_category(
    project_id: int,
    body: CategoryIn,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.set_project_category(session, principal.name, project_id, body.category, body.reason)


@router.delete(
    "/projects/{project_id}/screening-category",
    summary="Remove the category an inspector set: the project's words decide again (audited)",
)
def delete_project_category(
    project_id: int,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(inspector),
) -> dict[str, Any]:
    return usecases.clear_project_category(session, principal.name, project_id)


@router.get("/maps/screening/{screening_id}", response_class=HTMLResponse, summary="Map of a recorded screening")
def get_screening_map(
    screening_id: int,
    expires: int | None = Query(None, ge=0, le=2**62, description="expiry of a shared link (links.map_shared)"),
    sig: str | None = Query(None, max_length=128, description="signature of a shared link"),
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(current_principal),
) -> HTMLResponse:
    """For an inspector's token, or for anyone holding the signed link from ``links.map_shared``."""
    if not principal.has("inspector"):
        if sig is not None or expires is not None:
            if not verify(get_engine(), f"/maps/screening/{screening_id}", expires, sig):
                raise Problem(403, "this shared link is invalid or has expired; ask for a new one", parameter="sig")
        elif principal.role is None:
            raise Problem(
                401,
                "this map needs an inspector's token or a shared link (links.map_shared)",
                headers={"WWW-Authenticate": 'Bearer realm="xiangmap"'},
            )
        else:
            raise Problem(403, f"role '{principal.role}' may not do this; needs inspector")

    return HTMLResponse(usecases.screening_map(session, screening_id))
