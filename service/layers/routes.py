"""Routes for the layer catalogue and uploads: GET /layers, GET /layers/{id}, POST /layers/{id}/uploads.

Published layers (issue 20, gis role or admin):

    POST /layers/uploads                 a file -> its preview and an upload id (kept 24 h)
    GET  /layers/uploads/{id}            the preview again, with another crs / encoding / layer_name
    POST /layers                         publish from an upload id (background=true: 202 and a job)
    POST /layers/{id}/versions           replace or append from an upload id
    POST /layers/{id}/retire | /restore  stop serving it (kept) or serve it again
    PUT  /layers/{id}/protected          screening uses it (with its rules) or not
    GET  /layers/{id}/versions           who, when, which file (SHA-256), how many features
    PUT  /layers/{id}/rules              screening rules (YAML); GET lists them, GET .../rules/{n} returns one
    GET  /layers/jobs/{id}               a background job's percentage and result
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import Problem
from service.layers import usecases
from service.layers.files import SUFFIXES
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings

router = APIRouter(route_class=SessionReleasingRoute, tags=["layers"])
GIS = require_role("gis")


# ---------------------------------------------------------------- published layers (issue 20)
class FieldChoice(BaseModel):
    column: str | None = Field(None, description="the column it becomes (letters, digits, _; Chinese allowed)")
    type: str | None = Field(None, description="text, bigint, double precision, boolean, date or timestamptz")
    skip: bool = Field(False, description="leave the field out")


class PublishBody(BaseModel):
    upload_id: str = Field(..., description="from POST /layers/uploads")
    layer_id: str = Field(..., description="3-40 of a-z 0-9 _: the table name and the OGC collection id")
    title_zh: str
    title_en: str = ""
    description: str = ""
    source: str = ""
    licence: str = ""
    protected: bool = False
    gazetteer: bool | None = Field(None, description="offer its names to the geocoder (default: when it has names)")
    crs: str | None = Field(None, description="the file's CRS when it does not say, or says wrong")
    encoding: str | None = None
    layer_name: str | None = None
    geometry_type: str | None = None
    fields: dict[str, FieldChoice] = Field(default_factory=dict, description="by the field's name in the file")
    key_field: str | None = None
    name_field: str | None = None
    subzone_field: str | None = None
    background: bool = Field(False, description="answer 202 with a job at once instead of waiting for the load")


class EditionBody(BaseModel):
    upload_id: str
    mode: str = Field(..., description="replace (the layer becomes the file) or append (upsert by key)")
    crs: str | None = None
    encoding: str | None = None
    layer_name: str | None = None
    background: bool = False


class StatusBody(BaseModel):
    note: str | None = None


class ProtectedBody(BaseModel):
    protected: bool


def _created(body: dict[str, Any], status: int, location: str) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=status, headers={"Location": location})


@router.post("/layers/uploads", status_code=201, summary="Upload a GIS file and preview what it would publish")
def upload(
    request: Request,
    file: UploadFile = File(..., description="GeoPackage, zipped Shapefile (.cpg), KML, GeoJSON, FlatGeobuf, CSV"),
    crs: str | None = Form(None),
    encoding: str | None = Form(None),
    layer_name: str | None = Form(None),
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    answer = usecases.upload(session, principal.name, file, crs=crs, encoding=encoding, layer_name=layer_name)
    return _created(answer, 201, f"/layers/uploads/{answer['upload_id']}")


@router.get("/layers/uploads/{upload_id}", summary="The preview of an uploaded file, with other read options")
def upload_preview(
    upload_id: str,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    return jsonable_encoder(
        usecases.staged_preview(session, principal.name, upload_id, crs=crs, encoding=encoding, layer_name=layer_name)
    )


@router.post("/layers", status_code=201, summary="Publish a new layer from an uploaded file (gis)")
def publish(
    body: PublishBody, principal: Principal = Depends(GIS), session: Session = Depends(get_session, scope="function")
) -> JSONResponse:
    options = body.model_dump(exclude={"upload_id", "background"})
    options["fields"] = {k: v.model_dump() for k, v in body.fields.items()}
    if body.background:
        job = usecases.start_publish(session, principal.name, body.upload_id, options)
        return _created(job, 202, job["links"]["self"])
    result = usecases.publish_staged(session, principal.name, body.upload_id, options)
    return _created(result, 201, f"/layers/{body.layer_id}")


@router.post("/layers/{layer_id}/versions", status_code=201, summary="Replace or append a new edition (gis)")
def new_edition(
    layer_id: str,
    body: EditionBody,
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    options = body.model_dump(exclude={"upload_id", "background"})
    if body.background:
        job = usecases.start_change(session, principal.name, layer_id, body.upload_id, options)
        return _created(job, 202, job["links"]["self"])
    result = usecases.change_staged(session, principal.name, layer_id, body.upload_id, options)
    return _created(result, 201, f"/layers/{layer_id}")


@router.get("/layers/{layer_id}/versions", summary="A published layer's history: every version and who made it")
def versions(layer_id: str, session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
    return jsonable_encoder(usecases.history(session, layer_id))


@router.post("/layers/{layer_id}/retire", summary="Stop serving and screening a published layer; it is kept (gis)")
def retire(
    layer_id: str,
    body: StatusBody = Body(default_factory=StatusBody),
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    return jsonable_encoder(usecases.set_status(session, principal.name, layer_id, retire=True, note=body.note))


@router.post("/layers/{layer_id}/restore", summary="Serve a retired layer again (gis)")
def restore(
    layer_id: str,
    body: StatusBody = Body(default_factory=StatusBody),
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    return jsonable_encoder(usecases.set_status(session, principal.name, layer_id, retire=False, note=body.note))


@router.put("/layers/{layer_id}/protected", summary="Mark a published layer a protected zone, or not (gis)")
def protect(
    layer_id: str,
    body: ProtectedBody,
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    return jsonable_encoder(usecases.set_protected(session, principal.name, layer_id, body.protected))


@router.put(
    "/layers/{layer_id}/rules",
    status_code=201,
    summary="Attach screening rules (YAML, as geodata/rules/) to a protected layer; a 400 names the line at fault",
    openapi_extra={"requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}},
)
async def put_rules(
    layer_id: str,
    request: Request,
    note: str | None = None,
    principal: Principal = Depends(GIS),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    content = await request.body()
    if not content:
        raise Problem(400, "send the rules file (YAML) as the request body", parameter="body")
    from starlette.concurrency import run_in_threadpool

    stored = await run_in_threadpool(usecases.store_rules, session, principal.name, layer_id, content, note)
    return _created(stored, 201, f"/layers/{layer_id}/rules/{stored['id']}")


@router.get("/layers/{layer_id}/rules", summary="Every rules file a protected layer has had, newest first")
def list_rules(layer_id: str, session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
    return jsonable_encoder(usecases.rules_history(session, layer_id))


@router.get("/layers/{layer_id}/rules/{rules_id}", summary="One rules file as it was accepted (YAML)")
def get_rules(layer_id: str, rules_id: int, session: Session = Depends(get_session, scope="function")) -> Response:
    content = usecases.rules_content(session, layer_id, rules_id)
    return Response(content, media_type="application/yaml; charset=utf-8")


@router.get("/layers/jobs/{job_id}", summary="A background publish: its phase, percentage and result")
def job(
    job_id: str, principal: Principal = Depends(GIS), session: Session = Depends(get_session, scope="function")
) -> dict[str, Any]:
    return jsonable_encoder(usecases.job(session, job_id, principal.name))


# ---------------------------------------------------------------- the catalogue and bundled layers


@router.get("/layers", summary="The layer catalogue with feature counts, extent and last load")
def list_layers(session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
    return jsonable_encoder({"layers": usecases.list_layers(session)})


@router.get("/layers/{layer_id}", summary="One layer: catalogue entry and its recent loads")
def get_layer(layer_id: str, session: Session = Depends(get_session, scope="function")) -> dict[str, Any]:
    return jsonable_encoder(usecases.get_layer(session, layer_id))


def _mapping(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Problem(400, f"mapping is not JSON: {exc.msg}", parameter="mapping") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Problem(400, 'mapping must be a JSON object {"file field": "column"}', parameter="mapping")
    return value


def _save(upload: UploadFile, folder: Path) -> Path:
    """Copy the upload to disk (GDAL reads zips and Shapefiles from paths), refusing oversized files."""
    name = Path(upload.filename or "upload").name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise Problem(415, f"{name}: unsupported file type; use one of {', '.join(SUFFIXES)}", parameter="file")
    limit = get_settings().max_upload_mb * 1024 * 1024
    path = folder / name
    written = 0
    with path.open("wb") as out:
        for chunk in iter(lambda: upload.file.read(1 << 20), b""):
            written += len(chunk)
            if written > limit:
                raise Problem(413, f"{name} is larger than {get_settings().max_upload_mb} MB", parameter="file")
            out.write(chunk)
    return path


@router.post(
    "/layers/{layer_id}/uploads",
    status_code=201,
    summary="Load a GIS file into a layer (editor): upsert by key, repair, re-derive projects; all or nothing",
)
def upload_layer(
    layer_id: str,
    file: UploadFile = File(..., description="GeoJSON, GeoPackage, zipped Shapefile (with .cpg), KML ..."),
    crs: str | None = Form(None, description="EPSG:xxxx, gcj02 or bd09 when the file has no CRS or lies"),
    source: str | None = Form(None, description="provenance recorded on every feature"),
    replace: bool = Form(False, description="remove features the file does not have (see confirm_remove)"),
    confirm_remove: int | None = Form(
        None, description="with replace: the number of features it removes (a replace without it answers 409 with it)"
    ),
    orphan_projects: bool = Form(
        False, description="with replace: allow removing features that projects are located on (they lose geometry)"
    ),
    key_field: str | None = Form(None, description="field holding the stable key"),
    mapping: str | None = Form(None, description='JSON object {"file field": "column"}'),
    encoding: str | None = Form(None, description="attribute encoding when the file does not say (GBK ...)"),
    layer_name: str | None = Form(None, description="layer of a multi-layer file"),
    principal: Principal = Depends(require_role("editor", "gis")),
    session: Session = Depends(get_session, scope="function"),
) -> JSONResponse:
    usecases.check_may_change(session, layer_id, principal)
    fields = _mapping(mapping)
    with tempfile.TemporaryDirectory(prefix="xiangmap-upload-") as folder:
        path = _save(file, Path(folder))
        report = usecases.upload_layer(
            session,
            layer_id,
            path,
            actor=principal.name,
            crs=crs,
            encoding=encoding,
            layer_name=layer_name,
            mapping=fields,
            key_field=key_field,
            source=source,
            replace=replace,
            confirm_remove=confirm_remove,
            orphan_projects=orphan_projects,
        )
    body = report.as_dict()
    return JSONResponse(jsonable_encoder(body), status_code=201, headers={"Location": f"/layers/{layer_id}"})
