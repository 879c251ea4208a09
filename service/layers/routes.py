"""Routes for the layer catalogue and uploads: GET /layers, GET /layers/{id}, POST /layers/{id}/uploads."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from service.dependencies import get_session, require_role
from service.errors import Problem
from service.layers import usecases
from service.layers.files import SUFFIXES
from service.routing import SessionReleasingRoute
from service.security import Principal
from service.settings import get_settings

router = APIRouter(route_class=SessionReleasingRoute, tags=["layers"])


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
