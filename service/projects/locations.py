"""A person places a project: by layer features, by a drawn geometry, or both; audited, never overwritten.

The project's status becomes ``manual``, which every automatic geocoding run skips (in SQL, too).
Bad input is a :class:`Problem` naming the field: unknown layer or feature, invalid GeoJSON, a
precision code outside IATI / AidData.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.common.geometry_guard import check_stored_geojson
from service.common.location_codes import LAYER_CODES, published_codes
from service.common.strict_numbers import Integer
from service.errors import Problem
from service.models.layers import LAYER_MODELS
from service.projects.queries import PRECISION_CODES


class FeatureRef(BaseModel):
    layer: str = Field(description="layer id, e.g. roads")
    key: str | None = Field(None, description="the feature's stable key")
    id: Integer | None = Field(None, description="the feature's integer id")


class LocationIn(BaseModel):
    features: list[FeatureRef] = Field(default_factory=list, description="layer features the project lies on")
    geometry: dict[str, Any] | None = Field(None, description="a drawn GeoJSON geometry (WGS84 lon/lat)")
    precision: Integer | None = Field(None, description="IATI / AidData precision code; derived when omitted")
    note: str | None = None


def _published(session: Session, layer: str) -> tuple[int, int, int] | None:
    """The codes of a layer GIS staff published (issue 20), if it is one and in service."""
    kind = session.execute(
        text("SELECT geometry_type FROM layer_catalogue WHERE id = :l AND origin = 'published' AND status = 'active'"),
        {"l": layer},
    ).scalar()
    return published_codes(kind) if kind else None


def _feature(session: Session, ref: FeatureRef, index: int) -> dict[str, Any]:
    where = f"features[{index}]"
    codes = LAYER_CODES.get(ref.layer) if ref.layer in LAYER_MODELS else _published(session, ref.layer)
    if codes is None:
        raise Problem(400, f"{where}.layer: unknown layer '{ref.layer}'", pointer=f"/{where}/layer")
    if ref.key is None and ref.id is None:
        raise Problem(400, f"{where}: give the feature's key or id", pointer=f"/{where}")
    column, value = ("key", ref.key) if ref.key is not None else ("id", ref.id)
    row = session.execute(text(f'SELECT id, key, name FROM "{ref.layer}" WHERE {column} = :v'), {"v": value}).first()
    if row is None:
        raise Problem(400, f"{where}: no feature with {column} '{value}' in layer '{ref.layer}'", pointer=f"/{where}")
    precision, exactness, loc_class = codes
    return {
        "layer": ref.layer,
        "id": row.id,
        "key": row.key,
        "name": row.name,
        "precision": precision,
        "exactness": exactness,
        "class": loc_class,
    }


def _check_geometry(session: Session, geometry: dict[str, Any]) -> str:
    """The drawn geometry as GeoJSON text once the guard has bounded it and PostGIS has found it valid.

    The shared guard (decision 0093) runs first, on the JSON as sent: vertices, parts, rings, nesting,
    finite numbers, longitude / latitude ranges (swapped axes named), the service area.
    """
    check_stored_geojson(geometry, "/geometry")
    raw = json.dumps(geometry)
    try:
        with session.begin_nested():
            valid, reason = session.execute(
                text(
                    "SELECT ST_IsValid(g), ST_IsValidReason(g) FROM "
                    "(SELECT ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS g) AS t"
                ),
                {"g": raw},
            ).one()
    except DBAPIError as exc:
        raise Problem(400, f"geometry: not a GeoJSON geometry ({exc.orig})", pointer="/geometry") from exc
    if not valid:
        raise Problem(400, f"geometry: invalid ({reason})", pointer="/geometry")
    return raw


def _snapshot(session: Session, project_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            "SELECT precision, location_status, ST_AsText(geom) AS geom, "
            "(SELECT json_agg(json_build_object('layer', layer, 'key', feature_key, 'method', method)) "
            " FROM project_locations WHERE project_id = p.id) AS locations FROM projects p WHERE id = :id"
        ),
        {"id": project_id},
    ).one()
    return dict(row._mapping)


def set_manual_location(session: Session, project_id: int, body: LocationIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replace every location of the project with the person's choice; the project before and after.

    The caller (service.projects.usecases.set_location) holds the project's row lock, writes the audit
    entry from the two snapshots and commits.
    """
    if not body.features and body.geometry is None:
        raise Problem(400, "give features, a geometry, or both", pointer="/features")
    if body.precision is not None and body.precision not in PRECISION_CODES:
        raise Problem(400, f"precision: must be one of {PRECISION_CODES}", pointer="/precision")
    features = [_feature(session, ref, i) for i, ref in enumerate(body.features)]
    drawn = _check_geometry(session, body.geometry) if body.geometry is not None else None
    precision = body.precision or max([f["precision"] for f in features] + ([1] if drawn else []))

    before = _snapshot(session, project_id)
    session.execute(text("DELETE FROM project_locations WHERE project_id = :id"), {"id": project_id})
    for f in features:
        session.execute(
            text(
                """INSERT INTO project_locations (project_id, layer, feature_key, name, precision, exactness,
                       location_class, method, confidence)
                   VALUES (:pid, :layer, :key, :name, :precision, :exactness, :class, 'manual', 1.0)"""
            ),
            {"pid": project_id, **{k: v for k, v in f.items() if k != "id"}},
        )
    if drawn:
        session.execute(
            text(
                """INSERT INTO project_locations (project_id, name, precision, exactness, method, confidence, geom)
                   VALUES (:pid, :name, :precision, 1, 'manual', 1.0, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326))"""
            ),
            {"pid": project_id, "name": body.note or "drawn", "precision": precision, "g": drawn},
        )
    parts = [f"SELECT geom AS g FROM {f['layer']} WHERE id = {int(f['id'])}" for f in features]
    if drawn:
        parts.append("SELECT ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) AS g")
    session.execute(
        text(
            f"""UPDATE projects SET geom = (SELECT ST_CollectionHomogenize(ST_Collect(g)) FROM
                    ({" UNION ALL ".join(parts)}) AS parts),
                precision = :precision, location_status = 'manual', version = version + 1, updated_at = now()
                WHERE id = :id"""
        ),
        {"id": project_id, "precision": precision, "g": drawn},
    )
    return before, _snapshot(session, project_id)
