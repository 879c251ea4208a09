"""Layer use cases: the catalogue (GET /layers, ``xiangmap layers list``) and loading a GIS file into a layer.

An upload (POST /layers/{id}/uploads) and ``xiangmap layers load`` go through the same ``_load``: read,
map, upsert, re-derive the projects, record the load and its audit entry, then commit, or roll back
everything on any error (decision 0100: the use case owns the transaction, the domain never commits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.common.upload_safety import UploadLimits
from service.errors import Problem
from service.layers import loader
from service.layers.history import recent_loads
from service.layers.listing import catalogue, is_protected
from service.layers.loader import CONFIRM_ANY, LoadReport, Progress
from service.models import LAYER_MODELS
from service.security import Principal

__all__ = [
    "CONFIRM_ANY",
    "LoadReport",
    "check_may_change",
    "get_layer",
    "list_layers",
    "load_layer_file",
    "upload_layer",
]


def _unknown(layer_id: str, parameter: str) -> Problem:
    return Problem(404, f"no layer {layer_id!r}; layers are {', '.join(LAYER_MODELS)}", parameter=parameter)


def list_layers(session: Session) -> list[dict[str, Any]]:
    """The catalogue entries with feature counts, extent and last load."""
    return catalogue(session)


def get_layer(session: Session, layer_id: str) -> dict[str, Any]:
    """One catalogue entry with its recent loads; 404 naming the layers there are."""
    entry = next((e for e in catalogue(session) if e["id"] == layer_id), None)
    if entry is None:
        raise _unknown(layer_id, "layer_id")
    return {**entry, "loads": recent_loads(session, layer_id)}


def check_may_change(session: Session, layer_id: str, principal: Principal) -> None:
    """The layer exists, and a protected one (a zone screening relies on) changes only by gis or admin.

    Checked before the upload is copied to disk; the read's transaction ends here so none is held
    while the file arrives.
    """
    if layer_id not in LAYER_MODELS:
        raise _unknown(layer_id, "layer_id")
    protected = is_protected(session, layer_id)
    session.rollback()
    if protected and not principal.has("gis"):
        raise Problem(
            403,
            f"layer {layer_id} is a protected zone that screening relies on (protected in the layer catalogue); "
            f"only the gis role or an admin may change it, not role '{principal.role}'",
            parameter="layer_id",
            fault="protected_layer",
        )


def upload_layer(session: Session, layer_id: str, path: Path, *, actor: str, **options: Any) -> LoadReport:
    """Load an uploaded file (POST /layers/{id}/uploads), within the upload limits of the settings.

    ``options`` are those of ``service.layers.loader.load_layer_file`` (crs, mapping, replace ...).
    """
    return _load(session, layer_id, path, actor=actor, kind="upload", limits=UploadLimits.from_settings(), **options)


def load_layer_file(
    session: Session, layer_id: str, path: Path, *, actor: str, progress: Progress | None = None, **options: Any
) -> LoadReport:
    """Load a file from the command line (``xiangmap layers load``), reporting rows done to ``progress``.

    The transaction starts before the file is read, so a database that is down is said at once
    rather than after reading (and complaining about) the file.
    """
    session.connection()
    return _load(session, layer_id, path, actor=actor, kind="cli", progress=progress, **options)


def _load(session: Session, layer_id: str, path: Path, *, actor: str, kind: str, **options: Any) -> LoadReport:
    """Load, audit and commit as one transaction; on any error nothing of it stays."""
    try:
        report = loader.load_layer_file(session, layer_id, path, actor=actor, kind=kind, **options)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
