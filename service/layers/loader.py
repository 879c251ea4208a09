"""Upsert a layer file into its table in one transaction: repair, type-check, write, re-derive.

The database does the geometry work: ``ST_MakeValid`` repairs what is invalid (each repair is
reported with PostGIS's reason), ``ST_CollectionExtract`` / ``ST_Multi`` bring the result to the
table's type.  Rows are written one by one inside the caller's transaction so that the first
failing row names itself and the caller's rollback leaves the table exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from service.common import audit
from service.common.upload_safety import UploadLimits
from service.errors import Problem
from service.layers.files import read_layer_file
from service.layers.history import record_load
from service.layers.mapping import MappedRow, RowError, layer_columns, map_rows
from service.layers.rederive import rederive_project_geometries
from service.models import LAYER_MODELS

Progress = Callable[[int, int], None]  # (rows done, rows total)

# geometry type of the table → (ST_CollectionExtract type, wrap in ST_Multi)
TARGETS = {"MULTIPOLYGON": (3, True), "MULTILINESTRING": (2, True), "POINT": (1, False), "GEOMETRY": (None, False)}


@dataclass
class LoadReport:
    layer: str
    file_name: str
    file_sha256: str
    source_crs: str | None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rederived: int = 0
    repairs: list[dict[str, Any]] = field(default_factory=list)
    skipped_verified: list[str] = field(default_factory=list)
    changed_keys: list[str] = field(default_factory=list)
    load_id: int | None = None
    encoding: str | None = None  # of the attributes: given, from the .cpg, or detected (UTF-8 / GB18030)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.layer}: {self.rows} rows, {self.inserted} new, {self.updated} changed, {self.unchanged} unchanged, "
            f"{self.deleted} removed, {len(self.repairs)} repaired, {self.rederived} projects re-derived"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("changed_keys")
        return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def geometry_kind(layer: str) -> str:
    geom_type = LAYER_MODELS[layer].__table__.c.geom.type  # type: ignore[attr-defined]
    return str(geom_type.geometry_type).upper()


def _checked_geometries(session: Session, layer: str, rows: list[MappedRow]) -> list[dict[str, Any]]:
    """Validity, repair and type cast for every row in one round trip; the DB's reason for each repair."""
    extract, multi = TARGETS[geometry_kind(layer)]
    cast = "fixed" if extract is None else f"ST_CollectionExtract(fixed, {extract})"
    if multi:
        cast = f"ST_Multi({cast})"
    elif extract == 1:  # a one-point MultiPoint (common in GeoPackages) is a point
        cast = f"CASE WHEN ST_NumGeometries({cast}) = 1 THEN ST_GeometryN({cast}, 1) ELSE {cast} END"
    sql = text(
        f"""
        WITH input AS (
            SELECT ord, ST_SetSRID(ST_GeomFromWKB(wkb), 4326) AS raw
            FROM unnest(:wkbs) WITH ORDINALITY AS t(wkb, ord)
        ), checked AS (
            SELECT ord, raw, ST_IsValid(raw) AS ok, ST_IsValidReason(raw) AS reason,
                   CASE WHEN ST_IsValid(raw) THEN raw ELSE ST_MakeValid(raw) END AS fixed
            FROM input
        ), typed AS (
            SELECT ord, ok, reason, GeometryType(raw) AS given, {cast} AS geom FROM checked
        )
        SELECT ord, ok, reason, given, ST_IsEmpty(geom) AS empty, GeometryType(geom) AS kind,
               ST_AsEWKB(geom) AS ewkb, md5(ST_AsBinary(geom)) AS digest
        FROM typed ORDER BY ord
        """
    ).bindparams(bindparam("wkbs", type_=ARRAY(BYTEA)))
    wkbs = [shapely.to_wkb(shapely.force_2d(r.geometry)) for r in rows]
    return [dict(r._mapping) for r in session.execute(sql, {"wkbs": wkbs})]


HOLDS = {"MULTIPOLYGON": "polygons", "MULTILINESTRING": "lines", "POINT": "single points", "GEOMETRY": "geometries"}
OGC_NAMES = {
    n.upper(): n
    for n in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
}


def _geometry_error(layer: str, check: dict[str, Any]) -> str | None:
    kind = geometry_kind(layer)
    given = OGC_NAMES.get(str(check["given"]), str(check["given"]))
    if check["empty"] and check["ok"]:
        return f"a {given} cannot go into {layer}, which holds {HOLDS[kind]}"
    if check["empty"]:
        return f"nothing of the {given} was left after repairing it ({check['reason']})"
    if kind == "POINT" and check["kind"] != "POINT":
        return f"a {given} cannot go into {layer}, which holds {HOLDS[kind]}"
    return None


SHOWN_KEYS = 50  # keys and projects named in a refused replace
CONFIRM_ANY = "any"  # confirm_remove value of `xiangmap layers load --replace --yes`

PROJECTS_ON_KEYS = text(
    """
    SELECT DISTINCT p.id, p.title FROM project_locations pl JOIN projects p ON p.id = pl.project_id
    WHERE pl.layer = :layer AND pl.feature_key = ANY(:keys) AND NOT (pl.method = 'manual' AND pl.geom IS NOT NULL)
    ORDER BY p.id
    """
)


def check_removal(
    session: Session,
    layer: str,
    gone: list[str],
    confirm_remove: int | str | None,
    orphan_projects: bool,
) -> None:
    """409 unless the caller confirmed how many features a replace removes, and that projects lose geometry."""
    projects = [
        {"id": r.id, "title": r.title} for r in session.execute(PROJECTS_ON_KEYS, {"layer": layer, "keys": gone})
    ]
    shown = {
        "would_remove": len(gone),
        "keys": gone[:SHOWN_KEYS],
        "projects": projects[:SHOWN_KEYS],
        "projects_affected": len(projects),
    }
    confirmed = confirm_remove == CONFIRM_ANY or (
        confirm_remove is not None and str(confirm_remove).strip() == str(len(gone))
    )
    if not confirmed:
        sent = "" if confirm_remove is None else f" (confirm_remove={confirm_remove} was sent)"
        raise Problem(
            409,
            f"replace would remove {len(gone)} features of {layer} that the file does not have "
            f"({', '.join(gone[:10])}{' ...' if len(gone) > 10 else ''}){sent}; nothing was changed. "
            f"Send confirm_remove={len(gone)} to remove them"
            + (f" ({len(projects)} projects are located on them: see projects)" if projects else ""),
            parameter="confirm_remove",
            fault="confirm_remove",
            **shown,
        )
    if projects and not orphan_projects:
        names = ", ".join(f"#{p['id']} {p['title']}" for p in projects[:10])
        raise Problem(
            409,
            f"replace would remove features of {layer} that {len(projects)} projects are located on ({names}"
            f"{' ...' if len(projects) > 10 else ''}); they would lose their geometry. Nothing was changed. "
            "Send orphan_projects=true as well to remove them anyway",
            parameter="orphan_projects",
            fault="orphan_projects",
            **shown,
        )


CHUNK = 500  # rows per geometry check: one round trip each, well inside the statement timeout


def _checked_in_chunks(session: Session, layer: str, rows: list[MappedRow]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(rows), CHUNK):
        yield from _checked_geometries(session, layer, rows[start : start + CHUNK])


def _existing(session: Session, layer: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(text(f"SELECT key, verified, md5(ST_AsBinary(geom)) AS digest FROM {layer}"))
    return {r.key: {"verified": r.verified, "digest": r.digest} for r in rows}


@lru_cache(maxsize=64)
def _upsert_sql(layer: str, names: tuple[str, ...]) -> Any:
    columns = [*names, "geom"]
    placeholders = [f":{n}" for n in names] + ["ST_GeomFromEWKB(:ewkb)"]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "key")
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns if c != "key")
    return text(
        f"""
        INSERT INTO {layer} AS t ({", ".join(columns)}) VALUES ({", ".join(placeholders)})
        ON CONFLICT (key) DO UPDATE SET {updates}, updated_at = now() WHERE {changed}
        RETURNING (xmax = 0) AS inserted
        """
    )


def upsert_rows(
    session: Session,
    layer: str,
    rows: list[MappedRow],
    report: LoadReport,
    *,
    replace_keys: set[str] | None = None,
    protect_verified: bool = False,
    progress: Progress | None = None,
    guard_removal: bool = False,
    confirm_remove: int | str | None = None,
    orphan_projects: bool = False,
) -> None:
    """Write ``rows``; delete ``replace_keys`` not in the file; fill ``report``.  Raises RowError.

    With ``guard_removal`` (a replace asked for by a person) the removal needs ``confirm_remove`` equal
    to the number of features removed, and ``orphan_projects`` when projects are located on them; else
    409 (the caller's rollback undoes the rows already written).
    """
    checks = _checked_in_chunks(session, layer, rows)
    existing = _existing(session, layer)
    columns = layer_columns(layer)
    changed: list[str] = []
    for done, (row, check) in enumerate(zip(rows, checks, strict=True), start=1):
        key = row.values["key"]
        problem = _geometry_error(layer, check)
        if problem:
            raise RowError(row.row, problem, key=key)
        if not check["ok"]:
            report.repairs.append({"row": row.row, "key": key, "reason": check["reason"]})
        before = existing.get(key)
        if protect_verified and before and before["verified"]:
            report.skipped_verified.append(key)
            continue
        values = {k: v for k, v in row.values.items() if k in columns}
        try:
            result = session.execute(_upsert_sql(layer, tuple(values)), {**values, "ewkb": check["ewkb"]}).first()
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise  # the database went away: a 503 for the whole load, not a fault of this row
            reason = str((getattr(exc.orig, "diag", None) and exc.orig.diag.message_primary) or exc.orig)
            raise RowError(row.row, reason, key=key) from None
        if result is None:
            report.unchanged += 1
        elif result.inserted:
            report.inserted += 1
            changed.append(key)
        else:
            report.updated += 1
            if before is None or before["digest"] != check["digest"]:
                changed.append(key)
        if progress:
            progress(done, len(rows))
    if replace_keys:
        gone = sorted(replace_keys - {r.values["key"] for r in rows})
        if gone and guard_removal:
            check_removal(session, layer, gone, confirm_remove, orphan_projects)
        if gone:
            keep_verified = " AND NOT verified" if protect_verified else ""
            deleted = session.execute(
                text(f"DELETE FROM {layer} WHERE key = ANY(:keys){keep_verified} RETURNING key"), {"keys": gone}
            ).scalars()
            removed = list(deleted)
            report.deleted = len(removed)
            changed.extend(removed)
    report.rows = len(rows)
    report.changed_keys = changed


def load_layer_file(
    session: Session,
    layer: str,
    path: Path,
    *,
    actor: str,
    kind: str,
    crs: str | None = None,
    encoding: str | None = None,
    layer_name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    key_field: str | None = None,
    source: str | None = None,
    replace: bool = False,
    display_name: str | None = None,
    progress: Progress | None = None,
    previous_keys: set[str] | None = None,
    sha256: str | None = None,
    limits: UploadLimits | None = None,
    confirm_remove: int | str | None = None,
    orphan_projects: bool = False,
) -> LoadReport:
    """Read, map, upsert, re-derive projects, record the load and audit it, all on ``session``'s transaction.

    ``replace`` deletes every feature the file does not have, once ``confirm_remove`` says how many
    (and ``orphan_projects`` allows projects located on them to lose their geometry): otherwise 409
    (``check_removal``).  ``previous_keys`` (bundled loads) deletes only those of the previous bundled
    load that are gone.  The caller commits or rolls back.
    """
    if layer not in LAYER_MODELS:
        raise Problem(404, f"no layer {layer!r}; layers are {', '.join(LAYER_MODELS)}", parameter="layer")
    name = display_name or path.name
    read = read_layer_file(
        path, layer, crs=crs, encoding=encoding, layer_name=layer_name, display_name=name, limits=limits
    )
    report = LoadReport(
        layer=layer,
        file_name=name,
        file_sha256=sha256 or file_sha256(path),
        source_crs=read.source_crs,
        encoding=read.encoding,
        warnings=read.warnings,
    )
    rows = list(
        map_rows(layer, read.frame, mapping=mapping, key_field=key_field, default_source=source or f"file {name}")
    )
    if source:
        for row in rows:
            row.values["source"] = source
    replace_keys = set(session.execute(text(f"SELECT key FROM {layer}")).scalars()) if replace else previous_keys
    upsert_rows(
        session,
        layer,
        rows,
        report,
        replace_keys=replace_keys,
        protect_verified=kind == "bundled",
        progress=progress,
        guard_removal=replace,
        confirm_remove=confirm_remove,
        orphan_projects=orphan_projects,
    )
    report.rederived = rederive_project_geometries(session, layer, report.changed_keys)
    report.load_id = record_load(
        session,
        layer=layer,
        kind=kind,
        actor=actor,
        file_name=name,
        file_sha256=report.file_sha256,
        source_crs=report.source_crs,
        rows=report.rows,
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
        deleted=report.deleted,
        rederived=report.rederived,
        keys=[r.values["key"] for r in rows],
        repairs=report.repairs,
    )
    _audit(session, actor, report)
    return report


def _audit(session: Session, actor: str, report: LoadReport) -> None:
    after = {k: v for k, v in report.as_dict().items() if k != "repairs"}
    after["repairs"] = len(report.repairs)
    audit.record(session, actor, "load", f"layer:{report.layer}", report.load_id, None, after)
    session.flush()
