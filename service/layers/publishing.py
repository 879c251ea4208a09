"""Use cases of published layers: preview, publish, replace, append, retire, restore (routes, CLI and jobs alike).

Each change is one transaction of its own that this module commits or rolls back whole, with its
``layer_versions`` row and its audit entry: a file refused at row 812 431 leaves the layer exactly as it was
(and a refused publish leaves no table, since PostgreSQL's DDL is transactional).  The table is made by the
database function ``xm_layer_create``, never by DDL written here (decision 0310).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.common import audit
from service.common.upload_safety import UploadLimits
from service.errors import Problem
from service.layers import bulk, published
from service.layers.bulk import FieldSpec, LoadSpec, Progress
from service.layers.files import CHINESE_CRS, parse_crs
from service.layers.inspection import COLUMN_TYPES, GEOMETRY_NAMES, Preview, inspect_file, opened
from service.layers.loader import file_sha256
from service.layers.names import checked_column, layer_id_problem
from service.layers.rederive import rederive_project_geometries

LONG_LOAD_TIMEOUT = "30min"  # a million parcels take minutes; the service's short statement timeout is for requests
MAX_FIELDS = 400  # columns of a published table (the staging table takes 500, PostgreSQL 1,600)


@dataclass
class PublishRequest:
    """What a person chose in the preview (every field optional but the id and the Chinese title)."""

    layer_id: str
    title_zh: str
    title_en: str = ""
    description: str = ""
    source: str = ""
    licence: str = ""
    protected: bool = False
    gazetteer: bool | None = None  # None: offered when the layer has a name field
    crs: str | None = None
    encoding: str | None = None
    layer_name: str | None = None
    geometry_type: str | None = None
    # {source field: {"column": ..., "type": ..., "skip": bool}}; fields not named keep the preview's choice
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_field: str | None = None
    name_field: str | None = None
    subzone_field: str | None = None


def preview(
    path: Path,
    *,
    name: str,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    limits: UploadLimits | None = None,
) -> Preview:
    return inspect_file(path, name=name, crs=crs, encoding=encoding, layer_name=layer_name, limits=limits)


def _field_specs(
    found: Preview, wanted: dict[str, dict[str, Any]], same_as: dict[str, str] | None = None
) -> tuple[FieldSpec, ...]:
    sources = {f.source for f in found.fields}
    unknown = sorted(set(wanted) - sources)
    if unknown:
        raise Problem(
            400,
            f"fields {', '.join(unknown)} are not in the file; it has {', '.join(sorted(sources))}",
            parameter="fields",
        )
    specs, columns = [], set()
    for f in found.fields:
        choice = wanted.get(f.source, {})
        if choice.get("skip"):
            continue
        # a field called "name" chosen as the name (or "key" as the key) is that column already: no name_1 twin
        if not choice and (same_as or {}).get(f.source.lower()) == f.source:
            continue
        column = str(choice.get("column") or f.column).strip()
        kind = str(choice.get("type") or f.type)
        problem = checked_column(column) or (None if column != "subzone" else "column name 'subzone' is reserved")
        if problem:
            raise Problem(400, f"field {f.source!r}: {problem}", parameter="fields", field=f.source)
        if kind not in COLUMN_TYPES:
            raise Problem(
                400,
                f"field {f.source!r}: type {kind!r} is not one of {', '.join(COLUMN_TYPES)}",
                parameter="fields",
                field=f.source,
            )
        if column in columns:
            raise Problem(
                400, f"field {f.source!r}: column {column!r} is used twice", parameter="fields", field=f.source
            )
        columns.add(column)
        specs.append(FieldSpec(f.source, column, kind, f.source))
    return tuple(specs)


def _chosen_field(found: Preview, value: str | None, default: str | None, parameter: str) -> str | None:
    if value == "":
        return None
    chosen = value or default
    if chosen and chosen not in {f.source for f in found.fields}:
        raise Problem(400, f"{parameter} {chosen!r} is not a field of the file", parameter=parameter)
    return chosen


def load_spec(found: Preview, req: PublishRequest) -> LoadSpec:
    """The preview's suggestions with the person's changes, checked; 400 naming what is wrong."""
    crs = req.crs or found.crs
    if not crs:
        raise Problem(
            400,
            f"{found.file_name} does not say its coordinate reference system: choose crs (EPSG:4326, EPSG:4490, "
            "a CGCS2000 Gauss-Krüger zone such as EPSG:4546, gcj02 or bd09)",
            parameter="crs",
            fault="crs_needed",
        )
    if crs.lower() not in CHINESE_CRS:
        parse_crs(crs)
    geometry_type = (req.geometry_type or found.geometry_type).upper()
    named = {v.upper(): k for k, v in GEOMETRY_NAMES.items()}
    geometry_type = named.get(geometry_type, geometry_type)
    if geometry_type not in GEOMETRY_NAMES:
        raise Problem(
            400,
            f"geometry_type {req.geometry_type!r}: one of {', '.join(GEOMETRY_NAMES.values())}",
            parameter="geometry_type",
        )
    kept = [f for f in found.fields if not (req.fields.get(f.source) or {}).get("skip")]
    if len(kept) > MAX_FIELDS:
        raise Problem(
            422,
            f"{found.file_name} has {len(kept)} fields; a layer may have at most {MAX_FIELDS}: skip the ones "
            "that are not needed (fields: {name: {skip: true}}, --skip in the CLI)",
            parameter="fields",
            fault="too_many_fields",
        )
    key_field = _chosen_field(found, req.key_field, found.key_field, "key_field")
    name_field = _chosen_field(found, req.name_field, found.name_field, "name_field")
    same_as = {k: v for k, v in (("key", key_field), ("name", name_field)) if v}
    return LoadSpec(
        fields=_field_specs(found, req.fields, same_as),
        crs=crs,
        geometry_type=geometry_type,
        key_field=key_field,
        name_field=name_field,
        subzone_field=_chosen_field(found, req.subzone_field, None, "subzone_field"),
    )


def _load(
    session: Session,
    layer_id: str,
    path: Path,
    name: str,
    found: Preview,
    spec: LoadSpec,
    *,
    encoding: str | None,
    layer_name: str | None,
    limits: UploadLimits | None,
    progress: Progress | None,
    replace: bool,
    fresh: bool,
) -> tuple[bulk.Staged, dict[str, int]]:
    session.execute(text(f"SET LOCAL statement_timeout = '{LONG_LOAD_TIMEOUT}'"))
    with opened(path, name, encoding=encoding, layer_name=layer_name or found.sublayer, limits=limits) as src:
        staged = bulk.stage(session, src, spec, found.features, progress)
    if progress:
        progress(staged.rows, staged.rows, "check")
    bulk.validate(session, staged, spec, found.crs_name or spec.crs)
    if progress:
        progress(staged.rows, staged.rows, "write")
    counts = bulk.write(session, layer_id, staged, spec, replace=replace, fresh=fresh)
    bulk.drop(session, staged)
    return staged, counts


def _summary(
    layer_id: str,
    action: str,
    version: int,
    staged: bulk.Staged,
    counts: dict[str, int],
    features: int,
    found: Preview,
    sha256: str,
    spec: LoadSpec,
) -> dict[str, Any]:
    return {
        "layer": layer_id,
        "action": action,
        "version": version,
        "file_name": found.file_name,
        "file_sha256": sha256,
        "rows": staged.rows,
        **counts,
        "features": features,
        "repairs": staged.repairs,
        "repair_samples": staged.repair_samples,
        "source_crs": spec.crs,
        "encoding": found.encoding,
        "extent": staged.extent,
        "geometry_type": GEOMETRY_NAMES[spec.geometry_type],
        "warnings": found.warnings,
        "links": {
            "layer": f"/layers/{layer_id}",
            "collection": f"/collections/{layer_id}",
            "items": f"/collections/{layer_id}/items",
        },
    }


def check_request(
    session: Session, path: Path, req: PublishRequest, *, name: str, limits: UploadLimits | None = None
) -> tuple[Preview, LoadSpec]:
    """What a publish checks before it writes anything: the id (free, well-formed), the title, the fields and
    the CRS against the file's preview.  The background job calls :func:`publish`, which checks again."""
    problem = layer_id_problem(req.layer_id)
    if problem:
        raise Problem(400, problem, parameter="layer_id")
    if not req.title_zh.strip():
        raise Problem(400, "title_zh (the layer's Chinese title) is required", parameter="title_zh")
    if published.entry(session, req.layer_id) is not None:
        raise Problem(
            409,
            f"layer {req.layer_id} exists; replace or append to it, or choose another id",
            parameter="layer_id",
            fault="layer_exists",
        )
    found = preview(path, name=name, crs=req.crs, encoding=req.encoding, layer_name=req.layer_name, limits=limits)
    return found, load_spec(found, req)


def publish(
    session: Session,
    actor: str,
    path: Path,
    req: PublishRequest,
    *,
    name: str | None = None,
    sha256: str | None = None,
    limits: UploadLimits | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[Session], None] | None = None,
) -> dict[str, Any]:
    """Make a new layer from a file: table, rows, indexes, catalogue entry, version 1, audit; one transaction."""
    shown = name or path.name
    try:
        found, spec = check_request(session, path, req, name=shown, limits=limits)
        sha = sha256 or file_sha256(path)
        published.create_table(session, req.layer_id, spec)
        staged, counts = _load(
            session,
            req.layer_id,
            path,
            shown,
            found,
            spec,
            encoding=req.encoding,
            layer_name=req.layer_name,
            limits=limits,
            progress=progress,
            replace=False,
            fresh=True,
        )
        gazetteer = bool(spec.name_field) if req.gazetteer is None else (req.gazetteer and bool(spec.name_field))
        published.add_entry(
            session,
            req.layer_id,
            spec,
            title_zh=req.title_zh.strip(),
            title_en=req.title_en.strip() or req.layer_id,
            description=req.description,
            source=req.source or f"file {shown}",
            licence=req.licence,
            protected=req.protected,
            gazetteer=gazetteer,
            actor=actor,
            properties={"crs": spec.crs, "encoding": found.encoding, "sublayer": found.sublayer},
        )
        if progress:
            progress(staged.rows, staged.rows, "index")
        published.build_indexes(session, req.layer_id)
        features = counts["inserted"]
        summary = _summary(req.layer_id, "publish", 1, staged, counts, features, found, sha, spec)
        summary["zone_parts"] = published.refresh_zones(session, req.layer_id) if req.protected else 0
        _record(session, actor, req.layer_id, 1, "publish", summary, spec, found)
        if before_commit:
            before_commit(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def _record(
    session: Session,
    actor: str,
    layer_id: str,
    version: int,
    action: str,
    summary: dict[str, Any],
    spec: LoadSpec | None,
    found: Preview | None,
) -> None:
    details = {
        k: summary[k]
        for k in ("rows", "inserted", "updated", "deleted", "repair_samples", "extent", "warnings")
        if k in summary
    }
    if spec is not None:
        details["fields"] = [f.as_dict() for f in spec.fields]
    if "note" in summary:
        details["note"] = summary["note"]
    summary["version_id"] = published.record_version(
        session,
        layer_id,
        version,
        action,
        actor,
        file_name=summary.get("file_name"),
        file_sha256=summary.get("file_sha256"),
        features=summary["features"],
        added=summary.get("rows", 0),
        source_crs=summary.get("source_crs"),
        encoding=summary.get("encoding"),
        repairs=summary.get("repairs", 0),
        details=details,
    )
    after = {k: v for k, v in summary.items() if k not in ("repair_samples", "links")}
    audit.record(session, actor, action, f"layer:{layer_id}", version, None, after)


def change(
    session: Session,
    actor: str,
    layer_id: str,
    path: Path,
    *,
    mode: str,
    name: str | None = None,
    sha256: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    limits: UploadLimits | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[Session], None] | None = None,
) -> dict[str, Any]:
    """Replace (all or nothing: the layer becomes the file) or append (upsert by key) a new edition.

    The version before is archived first, so screenings that cite it still replay; protected zones are
    re-cut; projects located on the layer's features are re-derived.
    """
    if mode not in ("replace", "append"):
        raise Problem(400, f"mode {mode!r}: replace or append", parameter="mode")
    shown = name or path.name
    try:
        current = published.published_entry(session, layer_id, lock=True)
        if current.status != "active":
            raise Problem(409, f"layer {layer_id} is retired; restore it first", parameter="layer_id", fault="retired")
        props = dict(current.properties or {})
        found = preview(path, name=shown, crs=crs or None, encoding=encoding, layer_name=layer_name, limits=limits)
        if not (crs or found.crs):
            crs = props.get("crs")
        fields = tuple(
            FieldSpec(**{k: f[k] for k in ("source", "column", "type")}, label=f.get("label")) for f in current.fields
        )
        spec = LoadSpec(
            fields=fields,
            crs=crs or found.crs or "",
            geometry_type=props.get("geometry_type_sql", "GEOMETRY"),
            key_field=props.get("key_field"),
            name_field=props.get("name_field"),
            subzone_field=props.get("subzone_field"),
        )
        have = {f.source for f in found.fields}
        missing = [s for s in spec.sources() if s not in have]
        if missing:
            raise Problem(
                422,
                f"{shown} lacks the fields {', '.join(missing)} that layer {layer_id} is published "
                f"from (its fields: {', '.join(sorted(have))}); nothing was changed",
                parameter="file",
                fault="missing_fields",
                missing=missing,
            )
        if not spec.crs:
            raise Problem(400, f"{shown} does not say its CRS: choose crs", parameter="crs", fault="crs_needed")
        sha = sha256 or file_sha256(path)
        old = int(current.version)
        published.archive_version(session, layer_id, old)
        staged, counts = _load(
            session,
            layer_id,
            path,
            shown,
            found,
            spec,
            encoding=encoding,
            layer_name=layer_name,
            limits=limits,
            progress=progress,
            replace=mode == "replace",
            fresh=False,
        )
        version = old + 1
        current.version = version
        session.flush()
        features = published.feature_count(session, layer_id)
        summary = _summary(layer_id, mode, version, staged, counts, features, found, sha, spec)
        summary["previous_version"] = old
        summary["zone_parts"] = published.refresh_zones(session, layer_id) if current.protected else 0
        summary["projects_rederived"] = rederive_published(session, layer_id)
        _record(session, actor, layer_id, version, mode, summary, None, found)
        if before_commit:
            before_commit(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def rederive_published(session: Session, layer_id: str) -> int:
    """Projects located on this layer's features take their features' new geometry (a removed one: none),
    through the same re-derivation as the bundled layers' loads."""
    keys = session.execute(
        text("SELECT DISTINCT feature_key FROM project_locations WHERE layer = :l AND feature_key IS NOT NULL"),
        {"l": layer_id},
    ).scalars()
    return rederive_project_geometries(session, layer_id, list(keys))


def set_status(session: Session, actor: str, layer_id: str, *, retire: bool, note: str | None = None) -> dict[str, Any]:
    """Retire (kept, no longer served or screened against) or restore a published layer."""
    action = "retire" if retire else "restore"
    try:
        current = published.published_entry(session, layer_id, lock=True)
        wanted = "retired" if retire else "active"
        if current.status == wanted:
            raise Problem(409, f"layer {layer_id} is already {wanted}", parameter="layer_id", fault="unchanged")
        if retire:
            published.archive_version(session, layer_id, int(current.version))
        current.status = wanted
        session.flush()
        parts = published.refresh_zones(session, layer_id)
        summary = {
            "layer": layer_id,
            "action": action,
            "version": int(current.version),
            "status": wanted,
            "features": published.feature_count(session, layer_id),
            "zone_parts": parts,
            "note": note or "",
        }
        _record(session, actor, layer_id, int(current.version), action, summary, None, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def set_protected(session: Session, actor: str, layer_id: str, protected: bool) -> dict[str, Any]:
    """Mark a published layer protected (screening uses it, with its rules) or not; the trigger re-cuts its parts."""
    try:
        current = published.published_entry(session, layer_id, lock=True)
        if current.status != "active":
            raise Problem(409, f"layer {layer_id} is retired; restore it first", parameter="layer_id", fault="retired")
        before = bool(current.protected)
        current.protected = protected
        session.flush()
        audit.record(
            session,
            actor,
            "protect" if protected else "unprotect",
            f"layer:{layer_id}",
            None,
            {"protected": before},
            {"protected": protected},
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {"layer": layer_id, "protected": protected}


def history(session: Session, layer_id: str) -> dict[str, Any]:
    current = published.published_entry(session, layer_id)
    return {
        "layer": layer_id,
        "version": int(current.version),
        "status": current.status,
        "versions": published.versions(session, layer_id),
        "archived_versions": published.archived_versions(session, layer_id),
    }
