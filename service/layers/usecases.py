"""Layer use cases: the catalogue (GET /layers, ``xiangmap layers list``) and loading a GIS file into a layer.

An upload (POST /layers/{id}/uploads) and ``xiangmap layers load`` go through the same ``_load``: read,
map, upsert, re-derive the projects, record the load and its audit entry, then commit, or roll back
everything on any error (decision 0100: the use case owns the transaction, the domain never commits).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from service.common import staged_uploads
from service.common.upload_safety import MB, UploadLimits
from service.errors import Problem
from service.layers import jobs, loader, publishing
from service.layers.files import SUFFIXES
from service.layers.history import recent_loads
from service.layers.inspection import TYPE_LABELS, crs_choices
from service.layers.listing import catalogue, is_protected
from service.layers.loader import CONFIRM_ANY, LoadReport, Progress
from service.layers.names import LAYER_ID
from service.models import LAYER_MODELS
from service.ogc import usecases as ogc
from service.screening import usecases as screening
from service.security import Principal
from service.settings import get_settings

__all__ = [
    "CONFIRM_ANY",
    "LAYER_ID",
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
    if entry["origin"] == "published":
        return {**entry, "versions": publishing.history(session, layer_id)["versions"]}
    return {**entry, "loads": recent_loads(session, layer_id)}


def check_may_change(session: Session, layer_id: str, principal: Principal) -> None:
    """The layer exists, and a protected one (a zone screening relies on) changes only by gis or admin.

    Checked before the upload is copied to disk; the read's transaction ends here so none is held
    while the file arrives.
    """
    if layer_id not in LAYER_MODELS:
        if publishing.published.entry(session, layer_id) is not None:
            raise Problem(
                409,
                f"layer {layer_id} was published from a file: send a new edition with POST /layers/uploads, then "
                f"POST /layers/{layer_id}/versions (mode replace or append)",
                parameter="layer_id",
                fault="published_layer",
            )
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


# ---------------------------------------------------------------- published layers (issue 20)

KIND = "layer"


def limits() -> UploadLimits:
    """Upload limits for layers: larger files than other uploads, still no bombs, traversal or entities."""
    s = get_settings()
    return UploadLimits(
        max_file_bytes=s.max_layer_upload_mb * MB,
        max_unzipped_bytes=4 * s.max_layer_upload_mb * MB,
        max_members=s.max_zip_members,
        max_ratio=s.max_zip_ratio,
        max_vertices=sys.maxsize,
        max_geometry_vertices=s.max_geometry_vertices,
    )


def read_upload(filename: str | None, stream: BinaryIO) -> tuple[str, bytes]:
    """The upload's name and bytes, refusing an unknown type or a file over the layer limit (413)."""
    name = Path(filename or "upload").name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise Problem(415, f"{name}: unsupported file type; use one of {', '.join(SUFFIXES)}", parameter="file")
    most = get_settings().max_layer_upload_mb * MB
    chunks, size = [], 0
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        size += len(chunk)
        if size > most:
            raise Problem(413, f"{name} is larger than {get_settings().max_layer_upload_mb} MB", parameter="file")
        chunks.append(chunk)
    return name, b"".join(chunks)


@contextmanager
def _on_disk(filename: str, content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="xiangmap-layer-") as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(content)
        yield path


def _preview_answer(upload: staged_uploads.Staged, found: publishing.Preview) -> dict[str, Any]:
    return {
        "upload_id": upload.id,
        "file_sha256": upload.sha256,
        "size": upload.size,
        "preview": found.as_dict(),
        "column_types": TYPE_LABELS,
        "crs_choices": [c for c, _ in crs_choices()],
    }


def upload(
    session: Session,
    actor: str,
    file: Any,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
) -> dict[str, Any]:
    """Stage an uploaded file (an UploadFile or anything with .filename and .file) and preview it."""
    name, content = read_upload(getattr(file, "filename", None), file.file)
    return upload_bytes(session, actor, name, content, crs=crs, encoding=encoding, layer_name=layer_name)


def upload_bytes(
    session: Session,
    actor: str,
    name: str,
    content: bytes,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
) -> dict[str, Any]:
    with _on_disk(name, content) as path:
        found = publishing.preview(path, name=name, crs=crs, encoding=encoding, layer_name=layer_name, limits=limits())
    upload = staged_uploads.stage(
        session, KIND, actor, name, content, {"crs": crs, "encoding": encoding, "layer_name": layer_name}
    )
    session.commit()
    return _preview_answer(upload, found)


def staged_preview(
    session: Session,
    actor: str,
    upload_id: str,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
) -> dict[str, Any]:
    upload = _fetch(session, actor, upload_id)
    with _on_disk(upload.filename, upload.content) as path:
        found = publishing.preview(
            path, name=upload.filename, crs=crs, encoding=encoding, layer_name=layer_name, limits=limits()
        )
    return _preview_answer(upload, found)


def _request(options: dict[str, Any]) -> publishing.PublishRequest:
    known = set(publishing.PublishRequest.__dataclass_fields__)
    return publishing.PublishRequest(**{k: v for k, v in options.items() if k in known})


FileWork = Callable[[Session, Path, Callable[[int, int, str], None]], dict[str, Any]]


def _publish_work(actor: str, upload: staged_uploads.Staged, options: dict[str, Any]) -> FileWork:
    def work(session: Session, path: Path, progress: Callable[[int, int, str], None]) -> dict[str, Any]:
        result = publishing.publish(
            session,
            actor,
            path,
            _request(options),
            name=upload.filename,
            sha256=upload.sha256,
            limits=limits(),
            progress=progress,
            before_commit=lambda s: staged_uploads.mark_committed(s, upload.id),
        )
        ogc.forget_collections()
        return result

    return work


def _change_work(actor: str, layer_id: str, upload: staged_uploads.Staged, options: dict[str, Any]) -> FileWork:
    def work(session: Session, path: Path, progress: Callable[[int, int, str], None]) -> dict[str, Any]:
        result = publishing.change(
            session,
            actor,
            layer_id,
            path,
            mode=str(options.get("mode")),
            name=upload.filename,
            sha256=upload.sha256,
            crs=options.get("crs"),
            encoding=options.get("encoding"),
            layer_name=options.get("layer_name"),
            limits=limits(),
            progress=progress,
            before_commit=lambda s: staged_uploads.mark_committed(s, upload.id),
        )
        ogc.forget_collections()
        return result

    return work


def _fetch(session: Session, actor: str, upload_id: str) -> staged_uploads.Staged:
    upload = staged_uploads.fetch(session, upload_id, KIND, actor)
    if upload.committed_at is not None:
        raise Problem(409, f"upload {upload_id} was already published; upload the file again", parameter="upload_id")
    session.rollback()
    return upload


def publish_staged(session: Session, actor: str, upload_id: str, options: dict[str, Any]) -> dict[str, Any]:
    upload = _fetch(session, actor, upload_id)
    with _on_disk(upload.filename, upload.content) as path:
        return _publish_work(actor, upload, options)(session, path, lambda *_: None)


def change_staged(
    session: Session, actor: str, layer_id: str, upload_id: str, options: dict[str, Any]
) -> dict[str, Any]:
    upload = _fetch(session, actor, upload_id)
    with _on_disk(upload.filename, upload.content) as path:
        return _change_work(actor, layer_id, upload, options)(session, path, lambda *_: None)


def _start(
    session: Session, actor: str, action: str, layer_id: str, upload: staged_uploads.Staged, work: FileWork
) -> dict[str, Any]:
    job_id = jobs.create(session, actor, action, layer_id)
    session.commit()
    bind = session.get_bind()

    def in_thread(job_session: Session, progress: Callable[[int, int, str], None]) -> dict[str, Any]:
        with _on_disk(upload.filename, upload.content) as path:  # the bytes read once, before the job
            return work(job_session, path, progress)

    jobs.start(lambda: Session(bind), job_id, in_thread)
    return jobs.get(session, job_id)


def start_publish(session: Session, actor: str, upload_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check what can be checked before the load (the id, the title, the fields, the CRS: 4xx at once, beside
    the form), then load in the background."""
    upload = _fetch(session, actor, upload_id)
    with _on_disk(upload.filename, upload.content) as path:
        publishing.check_request(session, path, _request(options), name=upload.filename, limits=limits())
    session.rollback()
    return _start(
        session, actor, "publish", str(options.get("layer_id")), upload, _publish_work(actor, upload, options)
    )


def start_change(
    session: Session, actor: str, layer_id: str, upload_id: str, options: dict[str, Any]
) -> dict[str, Any]:
    upload = _fetch(session, actor, upload_id)
    if options.get("mode") not in ("replace", "append"):
        raise Problem(400, f"mode {options.get('mode')!r}: replace or append", parameter="mode")
    current = publishing.published.published_entry(session, layer_id)
    if current.status != "active":
        raise Problem(409, f"layer {layer_id} is retired; restore it first", parameter="layer_id", fault="retired")
    session.rollback()
    return _start(
        session, actor, str(options.get("mode")), layer_id, upload, _change_work(actor, layer_id, upload, options)
    )


def job(session: Session, job_id: str, actor: str) -> dict[str, Any]:
    return jobs.get(session, job_id, actor)


def history(session: Session, layer_id: str) -> dict[str, Any]:
    return publishing.history(session, layer_id)


def set_status(session: Session, actor: str, layer_id: str, *, retire: bool, note: str | None) -> dict[str, Any]:
    answer = publishing.set_status(session, actor, layer_id, retire=retire, note=note)
    ogc.forget_collections()
    return answer


def set_protected(session: Session, actor: str, layer_id: str, protected: bool) -> dict[str, Any]:
    return publishing.set_protected(session, actor, layer_id, protected)


def store_rules(session: Session, actor: str, layer_id: str, content: bytes, note: str | None) -> dict[str, Any]:
    """Validate and store screening rules for a protected layer, audited, in one transaction."""
    return screening.store_layer_rules(session, actor, layer_id, content, note)


def publish_file(
    session: Session, actor: str, path: Path, request: publishing.PublishRequest, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Publish a file from disk (``xiangmap layers publish``): no upload limits, the same checks."""
    session.connection()  # a database that is down is said at once, before the file is read
    result = publishing.publish(session, actor, path, request, progress=progress)
    ogc.forget_collections()
    return result


def change_file(
    session: Session,
    actor: str,
    layer_id: str,
    path: Path,
    *,
    mode: str,
    progress: Progress | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Replace or append from a file on disk (``xiangmap layers replace|append``)."""
    session.connection()
    return publishing.change(session, actor, layer_id, path, mode=mode, progress=progress, **options)


def rules_history(session: Session, layer_id: str) -> dict[str, Any]:
    return {"layer": layer_id, "rules": screening.layer_rules_history(session, layer_id)}


def rules_content(session: Session, layer_id: str, rules_id: int) -> bytes:
    return screening.layer_rules_content(session, layer_id, rules_id)
