"""The case register's API: register a case, read it (with its ETag), take a step, attach files, fetch a
file, move the case.  Parse, authorise, shape; the work is in ``service.cases.usecases``.

Bearer tokens, or a browser session with its CSRF token (``X-CSRF-Token`` or the form's ``csrf_token``).
Bodies are JSON or multipart: the fields of the JSON body as form fields (``geometry`` and ``position`` as
JSON text; or the whole JSON object in a ``data`` field), photos and PDFs as ``files`` parts, a place file
as the ``place_file`` part.  ``GET /cases`` (the list) is ``service.cases.routes_list``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.cases import usecases
from service.cases.usecases import CaseIn, PlaceIn, StepIn, Upload
from service.common.geometry_guard import check_json_depth
from service.dependencies import get_session, require_role
from service.errors import Problem
from service.models.audit import ROLES
from service.models.cases import CASE_FILE_TYPES
from service.security import Principal
from service.settings import get_settings

router = APIRouter(tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=9_223_372_036_854_775_807, description="case id")]
FileId = Annotated[int, Path(ge=1, le=9_223_372_036_854_775_807, description="file id")]
DbSession = Annotated[Session, Depends(get_session, scope="function")]
SignedIn = Annotated[Principal, Depends(require_role(*ROLES))]  # each use case checks the role for its step
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='the case\'s ETag as read, e.g. "c12-v3" (required)')
]
M = TypeVar("M", bound=BaseModel)
FILE_PARTS = ("files", "place_file")
JSON_FIELDS = ("geometry", "position", "data")


class PlaceBody(PlaceIn):
    note: str = ""


def _multipart_doc(model: type[BaseModel], files_doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {"type": "string", "description": "the JSON body's fields as one JSON object"},
                            **files_doc,
                        },
                    }
                },
            },
            "required": True,
        }
    }


_FILES_DOC = {
    "files": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "photos (JPEG, PNG, WebP) and PDFs",
    }
}
_PLACE_FILE_DOC = {
    "place_file": {"type": "string", "format": "binary", "description": "KML, GPX, zipped Shapefile or GeoJSON"}
}


def _json_text(name: str, value: str) -> Any:
    check_json_depth(value, name)
    try:
        return json.loads(value)
    except ValueError as exc:
        raise Problem(
            400, f"{name}：不是有效的 JSON / form field {name!r} is not valid JSON ({exc})", parameter=name
        ) from exc


async def _read(request: Request) -> tuple[dict[str, Any], list[Upload], Upload | None]:
    """(fields, files, place file) of a JSON or multipart body; each file read to one byte past its bound."""
    settings = get_settings()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {}
        files: list[Upload] = []
        place_file: Upload | None = None
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                if key not in FILE_PARTS:
                    raise Problem(
                        400,
                        f"文件须放在 files 或 place_file / send files as 'files' or 'place_file', not {key!r}",
                        parameter=key,
                    )
                if not value.filename:
                    continue  # a file input left empty
                limit = (settings.max_case_file_mb if key == "files" else settings.max_upload_mb) * 1024 * 1024
                upload = Upload(value.filename, await value.read(limit + 1))
                if key == "files":
                    files.append(upload)
                else:
                    place_file = upload
            elif key == "csrf_token" or value == "":
                continue
            elif key == "data":
                data = _json_text("data", value)
                if not isinstance(data, dict):
                    raise Problem(
                        400, "data：须是 JSON 对象 / form field 'data' must be a JSON object", parameter="data"
                    )
                fields |= data
            elif key in JSON_FIELDS:
                fields[key] = _json_text(key, value)
            else:
                fields[key] = value
        return fields, files, place_file
    if content_type and not content_type.startswith("application/json"):
        raise Problem(
            415,
            f"请发送 JSON 或 multipart/form-data / send application/json or multipart/form-data, not {content_type}",
        )
    raw = await request.body()
    check_json_depth(raw, "body")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise Problem(400, f"请求体不是有效的 JSON / the body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise Problem(400, "请求体须是 JSON 对象 / the body must be a JSON object")
    return body, [], None


def _validated(model: type[M], fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "body"
        raise Problem(400, f"{name}：{first['msg']} / {name}: {first['msg']}", parameter=name) from exc


def _case_response(case: dict[str, Any], status: int = 200) -> JSONResponse:
    headers = {"ETag": case["etag"], "Cache-Control": "private, no-store"}
    if status == 201:
        headers["Location"] = f"/cases/{case['id']}"
    return JSONResponse(jsonable_encoder(case), status_code=status, headers=headers)


@router.post(
    "/cases",
    status_code=201,
    summary="Register a case (督察问题, 巡查发现, 违法违规): placed, screened, numbered",
    openapi_extra=_multipart_doc(CaseIn, _FILES_DOC | _PLACE_FILE_DOC),
)
async def post_case(request: Request, session: DbSession, principal: SignedIn) -> JSONResponse:
    fields, files, place_file = await _read(request)
    data = _validated(CaseIn, fields)
    case = await run_in_threadpool(
        usecases.register_case, session, principal.name, principal.role, data, files, place_file=place_file
    )
    return _case_response(case, 201)


@router.get("/cases/{case_id:int}", summary="One case, its timeline, its files and the steps you may take")
def get_case(case_id: CaseId, session: DbSession, principal: SignedIn) -> JSONResponse:
    return _case_response(usecases.get_case(session, principal.name, principal.role, case_id))


@router.post(
    "/cases/{case_id:int}/steps",
    summary="Take a workflow step (assign, start, submit, accept, reject, withdraw); If-Match required",
    openapi_extra=_multipart_doc(StepIn, _FILES_DOC),
    responses={412: {"description": "the case changed since it was read"}, 428: {"description": "no If-Match"}},
)
async def post_step(
    request: Request, case_id: CaseId, session: DbSession, principal: SignedIn, if_match: IfMatch = None
) -> JSONResponse:
    fields, files, place_file = await _read(request)
    if place_file is not None:
        raise Problem(
            400, "步骤不带位置文件 / a step takes no place_file; use PUT /cases/{id}/place", parameter="place_file"
        )
    step = _validated(StepIn, fields)

    def run() -> dict[str, Any]:
        return usecases.take_step(
            session,
            principal.name,
            principal.role,
            case_id,
            step.action,
            note=step.note,
            files=files,
            if_match=if_match,
            responsible_unit_id=step.responsible_unit,
            deadline=step.deadline,
            severity=step.severity,
        )

    return _case_response(await run_in_threadpool(run))


class FilesBody(BaseModel):
    note: str = ""


@router.post(
    "/cases/{case_id:int}/files",
    status_code=201,
    summary="Attach photos or PDFs to a case",
    openapi_extra=_multipart_doc(FilesBody, _FILES_DOC),
)
async def post_files(request: Request, case_id: CaseId, session: DbSession, principal: SignedIn) -> JSONResponse:
    fields, files, place_file = await _read(request)
    if place_file is not None:
        raise Problem(
            400,
            "place_file 请用 PUT /cases/{id}/place / send the place file to PUT /cases/{id}/place",
            parameter="place_file",
        )
    body = _validated(FilesBody, fields)
    case = await run_in_threadpool(
        usecases.add_files, session, principal.name, principal.role, case_id, files, note=body.note
    )
    return _case_response(case, 201)


@router.get(
    "/cases/{case_id:int}/files/{file_id}",
    summary="One file of a case, as a download",
    response_class=Response,
    responses={
        200: {
            "description": "the file as it was uploaded (its type checked by content)",
            "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in CASE_FILE_TYPES},
        }
    },
)
def get_file(case_id: CaseId, file_id: FileId, session: DbSession, principal: SignedIn) -> Response:
    found = usecases.case_file(session, principal.name, principal.role, case_id, file_id)
    utf8 = quote(found["filename"], safe="")
    return Response(
        found["content"],
        media_type=found["media_type"],
        headers={
            "Content-Disposition": f"attachment; filename=\"{found['ascii_name']}\"; filename*=UTF-8''{utf8}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.put(
    "/cases/{case_id:int}/place",
    summary="Move a case: a new place, screened again; If-Match required",
    openapi_extra=_multipart_doc(PlaceBody, _PLACE_FILE_DOC),
    responses={412: {"description": "the case changed since it was read"}, 428: {"description": "no If-Match"}},
)
async def put_place(
    request: Request, case_id: CaseId, session: DbSession, principal: SignedIn, if_match: IfMatch = None
) -> JSONResponse:
    fields, files, place_file = await _read(request)
    if files:
        raise Problem(400, "移动位置不带照片 / send photos to POST /cases/{id}/files", parameter="files")
    body = _validated(PlaceBody, fields)
    place = PlaceIn(geometry=body.geometry, position=body.position)
    case = await run_in_threadpool(
        lambda: usecases.move_case(
            session,
            principal.name,
            principal.role,
            case_id,
            place,
            if_match=if_match,
            note=body.note,
            place_file=place_file,
        )
    )
    return _case_response(case)
